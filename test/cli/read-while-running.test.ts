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

  it('reads a running study through the API of the process that holds the data folder; names that process for what it cannot read so', async () => {
    const running = spawnCli(['start', '--data', 'busy', '--folder', 'docs'], { cwd });
    try {
      await waitFor('generations to run', () => /generation \d+ · tests/.test(running.stderr()));
      const pid = running.child.pid!;
      const through = `orchestra: process ${pid} holds the data folder; reading through its API at http://127.0.0.1:`;

      const best = await runCli(['best', '--data', 'busy'], { cwd });
      expect(best.stderr).toContain(through);
      expect(best.code).toBe(0);
      expect(best.stdout).toMatch(/^study compression: /);
      const generations = await runCli(['generations', '--json', '--data', 'busy'], { cwd });
      expect(generations.code).toBe(0);
      expect(JSON.parse(generations.stdout)).toMatchObject({ studyId: 'compression', generations: expect.arrayContaining([expect.objectContaining({ generation: 0 })]) });
      const bots = await runCli(['bots', '--json', '--study', 'compression', '--data', 'busy'], { cwd });
      expect(bots.code).toBe(0);
      expect(JSON.parse(bots.stdout)).toMatchObject({ studyId: 'compression', bots: expect.any(Array) });
      const campaigns = await runCli(['campaigns', '--data', 'busy'], { cwd });
      expect(campaigns.code).toBe(0);
      expect(campaigns.stdout).toBe('no campaigns\n');
      // A study that is not there is the same error as on the store.
      const wrong = await runCli(['best', '--study', 'nope', '--data', 'busy'], { cwd });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('orchestra: no study "nope" in this store; it holds: compression [ORC_CLI_STUDY_NOT_FOUND]\n');

      // What the API does not serve yet is refused, naming the process and the ways to read it.
      for (const command of [['tasks', 'list']]) {
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
    // The process took its announcement with it.
    expect(fs.existsSync(path.join(cwd, 'busy', 'orchestra-api.json'))).toBe(false);
    // Once it stopped, the same commands read the study.
    const best = await runCli(['best', '--data', 'busy'], { cwd });
    expect(best.code).toBe(0);
    expect(best.stdout).toMatch(/^study compression: /);
  });
});
