import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DATABASE_URL, uniqueName } from '../support/env.js';
import { dropSchema, exitWithin, runCli, spawnCli, tempDir, waitFor, type CliProcess } from './support.js';

interface Generations {
  generations: { generation: number; state: string; tests: number; testsDone: number }[];
}

describe('two orchestra start on one PostgreSQL study', { timeout: 240_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
    fs.mkdirSync(path.join(cwd, 'docs'));
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(cwd, 'docs', `f${i}.txt`), `line ${i} of a document that repeats itself\n`.repeat(400));
    // A short driver lease, task leases and sweeps, so a killed driver's study and tasks come back
    // within seconds; generations of 48 tests, so the kill lands inside one.
    fs.writeFileSync(
      path.join(cwd, 'standby.json'),
      JSON.stringify({
        experiment: { driverLeaseMs: 3_000, population: 24, testsPerCombination: 2 },
        registry: { leaseMs: 2_000 },
        monitor: { intervalMs: 500 },
        progress: { intervalMs: 100 },
      }),
    );
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('lets one drive while the other stands by, and the other takes over and finishes when the first is killed', async () => {
    const schema = uniqueName('cli_standby');
    // Each process on its own memory bus, both on one PostgreSQL schema.
    const env = { DATABASE_URL, ORCHESTRA_SCHEMA: schema };
    const args = ['start', '--config', 'standby.json', '--folder', 'docs', '--generations', '3'];
    const procs: CliProcess[] = [spawnCli(args, { cwd, env }), spawnCli(args, { cwd, env })];
    try {
      const standby = await waitFor('one process to stand by', () => procs.find((p) => p.stderr().includes('standing by: study compression is driven by')));
      const driver = procs.find((p) => p !== standby)!;
      expect(standby.stderr()).toContain(`standing by: study compression is driven by process ${driver.child.pid} on `);
      expect(driver.stderr()).not.toContain('standing by');

      const midGeneration = () =>
        [...driver.stderr().matchAll(/generation (\d+) · tests (\d+)\/(\d+)/g)].some(([, g, done, total]) => Number(g) >= 1 && Number(done) >= 1 && Number(done) < 0.75 * Number(total));
      await waitFor('a generation after the first to be under way', midGeneration);
      driver.child.kill('SIGKILL');
      await exitWithin(driver);

      expect(await exitWithin(standby)).toBe(0);
      expect(standby.stderr()).toContain('took over study compression: this process drives it now');
      expect(standby.stdout()).toMatch(/^finished: 3 generations, /);
      for (const p of procs) expect(p.stderr()).not.toMatch(/duplicate key|stopped by an error/);

      const generations = JSON.parse((await runCli(['generations', '--json'], { cwd, env })).stdout) as Generations;
      expect(generations.generations.map((g) => [g.generation, g.state])).toEqual([[0, 'scored'], [1, 'scored'], [2, 'scored']]);
      // The generation the driver was killed in was continued, each planned test with one result.
      for (const g of generations.generations) expect(g.testsDone).toBe(g.tests);
    } finally {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.exited));
      await dropSchema(schema);
    }
  });
});
