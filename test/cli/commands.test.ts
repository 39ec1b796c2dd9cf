import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { openPostgres, type Db } from '../../src/store/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';
import { spawnCli, waitFor } from '../faults/processes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Runs `orchestra ARGS` to the end, with optional standard input. */
function run(args: string[], env: Record<string, string | undefined> = {}, input?: string, cwd = ROOT) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd,
      env: { ...process.env, DATABASE_URL: undefined, REDIS_URL: undefined, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input ?? '');
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('orchestra command line', () => {
  let db: Db;
  let env: Record<string, string>;
  let dir: string;

  beforeAll(async () => {
    const schema = uniqueName('cli');
    db = await openPostgres({ url: DATABASE_URL, schema });
    env = { DATABASE_URL, ORCHESTRA_SCHEMA: schema };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-cli-'));
  });

  afterAll(async () => {
    await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the demo batch once on the embedded store and prints a summary', async () => {
    const result = await run(['start', '--once', '--tasks', '30', '--json', '--data', path.join(dir, 'start')]);
    expect(result.stderr).toContain('demo tasks registered');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.tasks).toBe(30);
    expect(summary.byStatus).toEqual({ COMPLETED: 29, FAILED: 1 });
    expect(summary.failures[0]).toMatchObject({ kind: 'demo.broken', code: 'DEMO_BAD_INPUT' });
    expect(summary.retried).toBeGreaterThan(0);
  });

  it('registers, lists, shows and counts tasks on PostgreSQL', async () => {
    expect((await run(['migrate'], env)).code).toBe(0);
    const single = await run(['tasks', 'add', '--kind', 'echo', '--payload', '{"n":1}', '--priority', '2', '--json'], env);
    expect(single.code).toBe(0);
    const [created] = JSON.parse(single.stdout);
    expect(created).toMatchObject({ kind: 'echo', priority: 2, payload: { n: 1 }, status: 'PENDING', created: true });

    const lines = ['{"kind":"echo","taskId":"first","payload":{"n":2}}', '', '{"kind":"echo","dependsOn":["first"]}'].join('\n');
    const bulk = await run(['tasks', 'add', '--json'], env, lines);
    expect(bulk.code).toBe(0);
    expect(JSON.parse(bulk.stdout).map((t: { dependsOn: string[] }) => t.dependsOn)).toEqual([[], ['first']]);

    const list = JSON.parse((await run(['tasks', 'list', '--json', '--kind', 'echo'], env)).stdout);
    expect(list).toHaveLength(3);
    const shown = JSON.parse((await run(['tasks', 'show', 'first', '--json'], env)).stdout);
    expect(shown).toMatchObject({ taskId: 'first', payload: { n: 2 }, lateReports: [] });
    const stats = JSON.parse((await run(['tasks', 'stats', '--json'], env)).stdout);
    expect(stats.byStatus.PENDING).toBe(3);
    expect((await run(['tasks', 'stats'], env)).stdout).toMatch(/PENDING\s+3/);

    const cancelled = await run(['tasks', 'cancel', 'first', '--reason', 'changed my mind'], env);
    expect(cancelled.stdout.trim()).toBe('first CANCELLED');
    const retried = await run(['tasks', 'retry', 'first'], env);
    expect(retried.stdout).toContain('first PENDING');
    expect(retried.stdout).toContain('(dependent)');

    expect(JSON.parse((await run(['tasks', 'prune', '--older-than-hours', '0', '--json'], env)).stdout)).toEqual({ pruned: 0 });
    await db.query(`INSERT INTO dead_letters (source, code, reason, raw, received_at) VALUES ('inbox:a', 'ORC_PROTOCOL_INVALID_JSON', 'bad', '{', now())`);
    const letters = JSON.parse((await run(['dead-letters', '--json'], env)).stdout);
    expect(letters).toEqual([expect.objectContaining({ source: 'inbox:a', code: 'ORC_PROTOCOL_INVALID_JSON', reason: 'bad' })]);
  });

  it('registers nothing when one line of a bulk is bad, and names the line', async () => {
    const before = JSON.parse((await run(['tasks', 'stats', '--json'], env)).stdout).total;
    const result = await run(['tasks', 'add'], env, '{"kind":"echo"}\n{"kind":"echo","priority":99}\n');
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('line 2');
    expect(result.stderr).toContain('priority');
    expect(result.stderr).toContain('[ORC_PROTOCOL_OUT_OF_RANGE]');
    expect(JSON.parse((await run(['tasks', 'stats', '--json'], env)).stdout).total).toBe(before);
  });

  it('reports an unknown task, a bad flag and bad connection strings in one line', async () => {
    const missing = await run(['tasks', 'retry', 'no-such-task'], env);
    expect(missing).toMatchObject({ code: 1, stderr: 'orchestra: no task has id no-such-task [ORC_REGISTRY_TASK_NOT_FOUND]\n' });
    const flag = await run(['tasks', 'list', '--bogus'], env);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^orchestra: unknown option '--bogus' \[ORC_CLI_BAD_ARGUMENT\]\n$/);
    const badUrl = await run(['tasks', 'list'], { DATABASE_URL: 'mysql://x/y' });
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toContain('[ORC_STORE_BAD_URL]');
    const unreachable = await run(['tasks', 'list'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('[ORC_STORE_UNREACHABLE]');
    const badExec = await run(['worker', '--exec', 'no-command'], env);
    expect(badExec.code).toBe(2);
    expect(badExec.stderr).toContain('must be KIND=COMMAND');
  });

  it('refuses a second process on a data folder that is in use', async () => {
    const data = path.join(dir, 'locked');
    const holder = spawnCli(['worker', '--exec', 'echo=cat', '--data', data], { DATABASE_URL: undefined });
    try {
      await waitFor('the worker to start', async () => holder.output().includes('started'));
      const second = await run(['tasks', 'list', '--data', data]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('[ORC_STORE_DATA_DIR_LOCKED]');
      expect(second.stderr).toContain(`process ${holder.child.pid}`);
    } finally {
      holder.child.kill('SIGTERM');
      expect(await holder.exited).toBe(0);
    }
  });

  it('runs tasks with an external command and stops gracefully on SIGTERM', async () => {
    const add = await run(['tasks', 'add', '--json'], env, ['{"kind":"upper","payload":{"word":"orchestra"}}', '{"kind":"upper","payload":{"word":"bus"}}'].join('\n'));
    const ids: string[] = JSON.parse(add.stdout).map((t: { taskId: string }) => t.taskId);
    const command = `node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s).word.toUpperCase())))'`;
    const worker = spawnCli(['worker', '--exec', `upper=${command}`, '--concurrency', '2'], env);
    try {
      const done = await waitFor('both tasks to complete', async () => {
        const shown = await Promise.all(ids.map(async (id) => JSON.parse((await run(['tasks', 'show', id, '--json'], env)).stdout)));
        return shown.every((t) => t.status === 'COMPLETED') && shown;
      });
      expect(done.map((t: { result: string }) => t.result).sort()).toEqual(['BUS', 'ORCHESTRA']);
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('stopped on SIGTERM');
  });
});
