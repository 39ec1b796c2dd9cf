import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { exitWithin, runCli, spawnCli, tempDir, waitFor } from './support.js';

describe('reading the embedded store while start holds it', { timeout: 240_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
    fs.mkdirSync(path.join(cwd, 'docs'));
    fs.writeFileSync(path.join(cwd, 'docs', 'a.txt'), 'a line that repeats\n'.repeat(400));
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('names the process that holds the data folder and says how to read the study', async () => {
    const running = spawnCli(['start', '--data', 'busy', '--folder', 'docs'], { cwd });
    try {
      await waitFor('generations to run', () => /generation \d+ · tests/.test(running.stderr()));
      const pid = running.child.pid!;
      for (const command of [['best'], ['generations'], ['bots'], ['tasks', 'list']]) {
        const result = await runCli([...command, '--data', 'busy'], { cwd });
        expect(result.code).toBe(1);
        const line = result.stderr.trim();
        expect(line).toContain(`the data folder ${path.join(cwd, 'busy')} is in use by process ${pid} (orchestra start --data busy --folder docs)`);
        expect(line).toContain(`\`${command.join(' ')}\` cannot read it while that runs`);
        expect(line).toContain(`stop it (Ctrl-C, or kill ${pid})`);
        expect(line).toContain('DATABASE_URL');
        expect(line).toMatch(/\[ORC_STORE_DATA_DIR_LOCKED\]$/);
      }
    } finally {
      running.child.kill('SIGINT');
      await exitWithin(running);
    }
    // Once it stopped, the same commands read the study.
    const best = await runCli(['best', '--data', 'busy'], { cwd });
    expect(best.code).toBe(0);
    expect(best.stdout).toMatch(/^study compression: /);
  });
});
