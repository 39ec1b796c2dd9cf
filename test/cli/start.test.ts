import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { openPostgres } from '../../src/store/index.js';
import { DATABASE_URL, REDIS_URL, uniqueName } from '../support/env.js';
import { exitWithin, runCli, spawnCli, tempDir, waitFor } from './support.js';

interface Summary {
  run: string;
  tasks: number;
  byStatus: Record<string, number>;
  retried: number;
  failures: { kind: string; code: string; message: string }[];
  reports: unknown[];
  interrupted: boolean;
}

/** What every demo batch ends with, whatever its size: one task failed for good, a few recovered. */
function expectDemoOutcome(summary: Summary, tasks: number) {
  expect(summary).toMatchObject({ tasks, byStatus: { COMPLETED: tasks - 1, FAILED: 1 }, interrupted: false });
  expect(summary.failures).toEqual([expect.objectContaining({ kind: 'demo.broken', code: 'DEMO_BAD_INPUT' })]);
  expect(summary.retried).toBeGreaterThanOrEqual(2);
  expect(summary.reports.length).toBeGreaterThan(0);
}

describe('orchestra start', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('runs the demo batch once on the embedded default and prints a summary; a second run adds a new batch', async () => {
    const first = await runCli(['start', '--once', '--tasks', '30', '--json'], { cwd });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('30 demo tasks registered in the embedded store in ./.orchestra');
    expect(first.stderr).toMatch(/\[\d+\.\ds\] 30\/30 done · 0 running · 1 failed · \d+ tasks\/s/);
    const summary = JSON.parse(first.stdout) as Summary;
    expectDemoOutcome(summary, 30);
    expect(fs.existsSync(path.join(cwd, '.orchestra'))).toBe(true);

    // The same folder, named through the environment this time.
    const second = await runCli(['start', '--once', '--tasks', '30', '--concurrency', '8'], { cwd, env: { ORCHESTRA_DATA_DIR: '.orchestra' } });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('8 workers running');
    expect(second.stdout).toMatch(/^Demo batch \w+: 30 tasks in [\d.]+s, \d+ tasks\/s\n {2}by status: COMPLETED 29 · FAILED 1\n/);
    expect(second.stdout).toContain('failed: demo.broken');
    expect(second.stdout).not.toContain(summary.run);

    const stats = await runCli(['tasks', 'stats', '--json', '--data', '.orchestra'], { cwd });
    expect(JSON.parse(stats.stdout)).toMatchObject({ total: 60, byStatus: { COMPLETED: 58, FAILED: 2 } });
  });

  it('keeps serving after the summary until SIGINT, then stops gracefully', async () => {
    const serving = spawnCli(['start', '--tasks', '10', '--data', 'serving'], { cwd });
    try {
      await waitFor('the summary', () => serving.stdout().includes('Demo batch'));
      await waitFor('the workers to keep serving', () => serving.stderr().includes('Ctrl-C stops them'));
    } finally {
      serving.child.kill('SIGINT');
    }
    expect(await exitWithin(serving, 15_000)).toBe(0);
    expect(serving.stderr()).toContain('stopped on SIGINT');
  });

  it('runs the same batch on PostgreSQL and Redis', async () => {
    const schema = uniqueName('cli_start');
    const prefix = uniqueName('cli');
    try {
      const result = await runCli(['start', '--once', '--tasks', '30', '--json'], {
        cwd,
        env: { DATABASE_URL, REDIS_URL, ORCHESTRA_SCHEMA: schema, ORCHESTRA_PREFIX: prefix },
      });
      expect(result.stderr).toContain(`registered in PostgreSQL (schema ${schema})`);
      expect(result.code).toBe(0);
      expectDemoOutcome(JSON.parse(result.stdout) as Summary, 30);
    } finally {
      const db = await openPostgres({ url: DATABASE_URL, schema });
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });
});
