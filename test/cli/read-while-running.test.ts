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

      // Tasks too: the list, one task, the counts.
      const listed = await runCli(['tasks', 'list', '--json', '--limit', '3', '--data', 'busy'], { cwd });
      expect(listed.code).toBe(0);
      expect(listed.stderr).toContain(`process ${pid} holds the data folder; reading through its API`);
      const tasks = JSON.parse(listed.stdout) as { taskId: string; status: string }[];
      expect(tasks.length).toBeGreaterThan(0);
      expect((await runCli(['tasks', 'list', '--data', 'busy'], { cwd })).stdout).toMatch(/^ID +KIND +STATUS/);
      const shown = JSON.parse((await runCli(['tasks', 'show', tasks[0]!.taskId, '--json', '--data', 'busy'], { cwd })).stdout) as { taskId: string; lateReports: unknown[] };
      expect(shown).toMatchObject({ taskId: tasks[0]!.taskId, lateReports: expect.any(Array) });
      const stats = JSON.parse((await runCli(['tasks', 'stats', '--json', '--data', 'busy'], { cwd })).stdout) as { total: number };
      expect(stats.total).toBeGreaterThan(0);

      // The agents, as the holder's orchestrator knows them, and the dead letters.
      const agents = JSON.parse((await runCli(['agents', '--json', '--data', 'busy'], { cwd })).stdout) as { agents: { agentId: string; state: string }[] };
      expect(agents.agents.map((a) => a.agentId)).toEqual(expect.arrayContaining(['orchestrator', 'variables', 'bots']));
      const letters = await runCli(['dead-letters', '--data', 'busy'], { cwd });
      expect(letters.stderr).toContain(through);
      expect(letters.stdout).toBe('no dead letters\n');
    } finally {
      running.child.kill('SIGINT');
      await exitWithin(running);
    }
    // A process that serves no API (a worker) holds the folder: the refusal names it and the ways to read the store.
    const worker = spawnCli(['worker', '--data', 'busy', '--exec', 'echo=cat'], { cwd });
    try {
      await waitFor('the worker to start', () => /worker \S+ started/.test(worker.stdout()));
      const pid = worker.child.pid!;
      const result = await runCli(['dead-letters', '--data', 'busy'], { cwd });
      expect(result.code).toBe(1);
      const line = result.stderr.trim();
      expect(line).toContain(`the data folder ${path.join(cwd, 'busy')} is in use by process ${pid} (orchestra worker --data busy --exec echo=cat)`);
      expect(line).toContain('`dead-letters` cannot read it while that runs');
      expect(line).toContain(`stop it (Ctrl-C, or kill ${pid})`);
      expect(line).toContain('DATABASE_URL');
      expect(line).toMatch(/\[ORC_STORE_DATA_DIR_LOCKED\]$/);
    } finally {
      worker.child.kill('SIGINT');
      await exitWithin(worker);
    }
    // The process took its announcement with it.
    expect(fs.existsSync(path.join(cwd, 'busy', 'orchestra-api.json'))).toBe(false);
    // Once it stopped, the same commands read the study.
    const best = await runCli(['best', '--data', 'busy'], { cwd });
    expect(best.code).toBe(0);
    expect(best.stdout).toMatch(/^study compression: /);
  });
});
