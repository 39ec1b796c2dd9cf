import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { markIsolated, openStore, recordOutcome, registerBot } from '../../src/store/index.js';
import { runCli, tempDir } from './support.js';

const NOW = Date.UTC(2026, 0, 1);

describe('orchestra bots reinstate', { timeout: 240_000 }, () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = tempDir();
    // A fleet as a stopped system leaves it: two working bots, one isolated.
    const { db } = await openStore({ dataDir: path.join(cwd, 'fleet') }, NOW);
    try {
      for (const botId of ['b1', 'b2', 'b3']) await registerBot(db, { botId, deviceId: botId, role: 'tester', group: 'default' }, NOW);
      await recordOutcome(db, 'b1', false, 0.9);
      await markIsolated(db, 'b3', NOW, '5 failed tasks in a row');
    } finally {
      await db.close();
    }
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it("puts an isolated bot back in the fleet at the fleet's mean success rate, recording who asked and why", async () => {
    const result = await runCli(['bots', 'reinstate', 'b3', '--reason', 'new cable', '--data', 'fleet'], { cwd });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const by = `${os.userInfo().username}@${os.hostname()}`;
    expect(result.stdout).toBe(`bot b3 reinstated: success rate 0.950 (the fleet's mean), by ${by}: new cable\n`);

    const listed = JSON.parse((await runCli(['bots', '--json', '--data', 'fleet'], { cwd })).stdout) as { bots: Record<string, unknown>[] };
    expect(listed.bots.find((b) => b.botId === 'b3')).toMatchObject({ state: 'online', reinstatedBy: by, reinstateReason: 'new cable', reinstatements: 1, isolatedAt: null });

    const again = await runCli(['bots', 'reinstate', 'b3', '--data', 'fleet'], { cwd });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('bot b3 is online, not isolated: nothing to reinstate\n');
    const unknown = await runCli(['bots', 'reinstate', 'b9', '--data', 'fleet'], { cwd });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('orchestra: no bot has id b9 [ORC_AGENT_NOT_FOUND]\n');
  });
});
