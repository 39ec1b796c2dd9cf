import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DATABASE_URL, REDIS_URL, uniqueName } from '../support/env.js';
import { dropSchema, deleteKeys, exitWithin, runCli, spawnCli, tempDir, waitFor } from './support.js';

interface RoundSummary {
  topics: number;
  durationMs: number;
  tasks: Record<string, number>;
  reports: { topic: string; taskId: string; status: string; words: number; sources: number; report: string; error: unknown }[];
  interrupted: boolean;
}

describe('orchestra start', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('runs the agents and one research → write round on the embedded default, and prints a summary', async () => {
    const first = await runCli(['start', '--once', '--json'], { cwd });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('5 agents running on the embedded store in ./.orchestra and the in-process bus');
    expect(first.stderr).toMatch(/\[\d+\.\ds\] researched 3\/3 · written 3\/3 · 0 failed · 5 agents running/);
    const summary = JSON.parse(first.stdout) as RoundSummary;
    expect(summary).toMatchObject({ topics: 3, tasks: { COMPLETED: 6 }, interrupted: false });
    for (const r of summary.reports) {
      expect(r.status).toBe('COMPLETED');
      expect(r.report.startsWith(`# ${r.topic}\n`)).toBe(true);
      expect(r.report).toContain('## Sources');
      expect(r.sources).toBeGreaterThan(0);
    }
    expect(fs.existsSync(path.join(cwd, '.orchestra'))).toBe(true);

    // The same folder, named through the environment, with topics of the user's.
    const second = await runCli(['start', '--once', '--topic', 'idempotency keys', '--topic', 'circuit breakers'], {
      cwd,
      env: { ORCHESTRA_DATA_DIR: '.orchestra' },
    });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^finished: 2 topics in [\d.]+s\ntasks: 4 completed\nreports:\n/);
    expect(second.stdout).toMatch(/ok {6}idempotency keys \(\d+ words, \d+ sources; orchestra tasks show write-\w+-0\)/);

    const stats = await runCli(['tasks', 'stats', '--json', '--data', '.orchestra'], { cwd });
    expect(JSON.parse(stats.stdout)).toMatchObject({ total: 10, byStatus: { COMPLETED: 10 } });
  });

  it('refuses an empty topic before opening anything', async () => {
    const result = await runCli(['start', '--once', '--topic', '  ', '--data', 'never'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--topic must hold 1 to 500 characters.*\[ORC_CLI_BAD_ARGUMENT\]/);
    expect(fs.existsSync(path.join(cwd, 'never'))).toBe(false);
  });

  it('keeps serving after the round until SIGINT, then stops gracefully', async () => {
    const serving = spawnCli(['start', '--data', 'serving', '--topic', 'rate limiting'], { cwd });
    try {
      await waitFor('the summary', () => serving.stdout().includes('finished: 1 topic'));
      await waitFor('the agents to keep serving', () => serving.stderr().includes('Ctrl-C stops them') || serving.stderr().includes('serving:'));
    } finally {
      serving.child.kill('SIGINT');
    }
    expect(await exitWithin(serving, 15_000)).toBe(0);
    expect(serving.stderr()).toContain('stopped on SIGINT');
  });

  it('runs the same round on PostgreSQL and Redis', async () => {
    const schema = uniqueName('cli_start');
    const prefix = uniqueName('cli');
    try {
      const result = await runCli(['start', '--once', '--json'], {
        cwd,
        env: { DATABASE_URL, REDIS_URL, ORCHESTRA_SCHEMA: schema, ORCHESTRA_PREFIX: prefix },
      });
      expect(result.stderr).toContain(`on PostgreSQL (schema ${schema}) and Redis`);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ topics: 3, tasks: { COMPLETED: 6 } });
    } finally {
      await dropSchema(schema);
      await deleteKeys(prefix);
    }
  });
});
