import fs from 'node:fs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createRng, systemClock } from '../../src/protocol/index.js';
import { openPostgres, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';
import { runCli, tempDir } from './support.js';

describe('orchestra tasks, on PostgreSQL', () => {
  let db: Db;
  let registry: TaskRegistry;
  let env: Record<string, string>;
  let cwd: string;
  const orchestra = (args: string[], input?: string) => runCli(args, { env, cwd, input });

  beforeAll(async () => {
    const schema = uniqueName('cli_tasks');
    env = { DATABASE_URL, ORCHESTRA_SCHEMA: schema };
    cwd = tempDir();
    const migrated = await orchestra(['migrate', '--json']);
    expect(migrated.stderr).toBe('');
    expect(JSON.parse(migrated.stdout)).toMatchObject({ backend: 'postgres', schema, applied: expect.arrayContaining([1]) });
    db = await openPostgres({ url: DATABASE_URL, schema });
    registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1) });
  });

  afterAll(async () => {
    await db?.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await db?.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('migrates once: a second run finds nothing to apply', async () => {
    const again = await orchestra(['migrate']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/PostgreSQL schema \S+: schema version \d+ \(already up to date\)/);
  });

  it('registers a task from flags and many from JSON lines, then lists, shows and counts them', async () => {
    const single = await orchestra(['tasks', 'add', '--kind', 'echo', '--payload', '{"n":1}', '--priority', '2', '--max-attempts', '4', '--json']);
    expect(single.code).toBe(0);
    expect(JSON.parse(single.stdout)).toEqual([
      expect.objectContaining({ kind: 'echo', priority: 2, maxAttempts: 4, payload: { n: 1 }, status: 'PENDING', created: true }),
    ]);

    const lines = ['{"kind":"echo","taskId":"first","payload":{"n":2}}', '', '{"kind":"echo","dependsOn":["first"],"priority":9}'].join('\n');
    const bulk = await orchestra(['tasks', 'add'], lines);
    expect(bulk.code).toBe(0);
    const ids = bulk.stdout.trim().split('\n');
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe('first');

    const keyed = ['tasks', 'add', '--kind', 'echo', '--idempotency-key', 'once', '--depends-on', 'first', ids[1]!];
    const firstTime = await orchestra(keyed);
    const secondTime = await orchestra(keyed);
    expect(secondTime.stdout.trim()).toBe(`${firstTime.stdout.trim()} (already registered with this idempotency key)`);

    const [table, list, filtered, shown, stats, statsText] = await Promise.all([
      orchestra(['tasks', 'list']),
      orchestra(['tasks', 'list', '--json', '--kind', 'echo']),
      orchestra(['tasks', 'list', '--json', '--status', 'pending', '--limit', '1', '--offset', '1']),
      orchestra(['tasks', 'show', ids[1]!, '--json']),
      orchestra(['tasks', 'stats', '--json']),
      orchestra(['tasks', 'stats']),
    ]);
    expect(JSON.parse(list.stdout)).toHaveLength(4);
    expect(JSON.parse(filtered.stdout)).toHaveLength(1);
    expect(JSON.parse(shown.stdout)).toMatchObject({ taskId: ids[1], dependsOn: ['first'], priority: 9, lateReports: [] });
    expect(JSON.parse(stats.stdout)).toMatchObject({ total: 4, byStatus: { PENDING: 4 }, byPriority: { 2: 1, 5: 2, 9: 1 } });
    expect(statsText.stdout).toMatch(/^STATUS\s+ALL\s+P1\s+P2/);
    expect(statsText.stdout).toMatch(/PENDING\s+4/);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+KIND\s+STATUS\s+PRI\s+ATTEMPT\s+UPDATED\s+ERROR$/);
    expect(table.stdout).toContain('first');
  });

  it('registers nothing when one line of a bulk is bad, and names the line and the field', async () => {
    const before = (await registry.counts()).total;
    const badField = await orchestra(['tasks', 'add'], '{"kind":"echo"}\n{"kind":"echo","priority":99}\n');
    expect(badField.code).toBe(2);
    expect(badField.stderr).toMatch(/^orchestra: invalid task on line 2: priority: [^\n]* \[ORC_PROTOCOL_OUT_OF_RANGE\]\n$/);
    const badJson = await orchestra(['tasks', 'add'], '{"kind":"echo"}\n\n{"kind":"echo",\n');
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/^orchestra: invalid task on line 3: [^\n]* \[ORC_PROTOCOL_INVALID_JSON\]\n$/);
    const unknownField = await orchestra(['tasks', 'add'], '{"kind":"echo","colour":"red"}\n');
    expect(unknownField.stderr).toMatch(/line 1: [^\n]*colour[^\n]*\[ORC_PROTOCOL_UNKNOWN_FIELD\]\n$/);
    // Valid lines that fail together (an unknown dependency) register nothing either.
    const unknownDependency = await orchestra(['tasks', 'add'], '{"kind":"echo"}\n{"kind":"echo","dependsOn":["nowhere"]}\n');
    expect(unknownDependency.code).toBe(1);
    expect(unknownDependency.stderr).toMatch(/\[ORC_REGISTRY_UNKNOWN_DEPENDENCY\]\n$/);
    const empty = await orchestra(['tasks', 'add'], '\n\n');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no tasks given');
    expect((await registry.counts()).total).toBe(before);
  });

  it('keeps non-ASCII text in large payloads from standard input intact, wherever the chunks are cut', async () => {
    // Characters of two, three and four bytes after prefixes of 0 to 3 ASCII bytes, about 100 KB per task:
    // the pipe cuts its 64 KiB chunks inside characters many times over.
    const tasks = Array.from({ length: 40 }, (_, i) => ({
      kind: 'unicode',
      idempotencyKey: `unicode-${i}`,
      payload: { i, text: 'x'.repeat(i % 4) + 'Zoë € 😀 中文 '.repeat(4200) },
    }));
    const added = await orchestra(['tasks', 'add'], tasks.map((t) => JSON.stringify(t)).join('\n'));
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const stored = await registry.getMany(added.stdout.trim().split('\n'));
    expect(stored).toHaveLength(40);
    for (const task of stored) {
      const i = (task.payload as { i: number }).i;
      expect((task.payload as { text: string }).text.includes('\uFFFD'), `payload ${i}`).toBe(false);
      expect(task.payload, `payload ${i}`).toEqual(tasks[i]!.payload);
    }
  });

  it('refuses a payload with U+0000 or a lone surrogate with exit 2, naming the field', async () => {
    const before = (await registry.counts()).total;
    const flag = await orchestra(['tasks', 'add', '--kind', 'echo', '--payload', '{"note":"a\\u0000b"}']);
    expect(flag).toMatchObject({ code: 2, stdout: '' });
    expect(flag.stderr).toBe('orchestra: invalid task: payload.note: holds U+0000, which the store cannot keep [ORC_PROTOCOL_UNSTORABLE_TEXT]\n');
    const lines = await orchestra(['tasks', 'add'], '{"kind":"echo"}\n{"kind":"echo","payload":["\\udc00"]}\n');
    expect(lines.code).toBe(2);
    expect(lines.stderr).toMatch(/^orchestra: invalid task on line 2: payload\.0: holds a lone surrogate \(U\+DC00\)[^\n]*\[ORC_PROTOCOL_UNSTORABLE_TEXT\]\n$/);
    expect((await registry.counts()).total).toBe(before);
  });

  it('cancels a task and retries it with the dependents that failed because of it', async () => {
    const [root, dependent] = await registry.registerMany([
      { kind: 'chain', taskId: 'chain-root' },
      { kind: 'chain', dependsOn: ['chain-root'] },
    ]);
    const cancelled = await orchestra(['tasks', 'cancel', 'chain-root', '--reason', 'changed my mind']);
    expect(cancelled.stdout.trim()).toBe('chain-root CANCELLED');
    expect((await registry.get(root!.task.taskId)).error).toMatchObject({ code: 'ORC_REGISTRY_CANCELLED', message: 'changed my mind' });
    expect((await registry.get(dependent!.task.taskId)).status).toBe('FAILED');

    const again = await orchestra(['tasks', 'cancel', 'chain-root']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\[ORC_REGISTRY_INVALID_TRANSITION\]\n$/);

    const retried = await orchestra(['tasks', 'retry', 'chain-root', '--json']);
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout).map((t: { taskId: string; status: string }) => [t.taskId, t.status]).sort()).toEqual(
      [
        ['chain-root', 'PENDING'],
        [dependent!.task.taskId, 'PENDING'],
      ].sort(),
    );
  });

  it('reports an unknown task id on one line, with its code and exit 1', async () => {
    const results = await Promise.all([
      orchestra(['tasks', 'retry', 'no-such-task']),
      orchestra(['tasks', 'cancel', 'no-such-task', '--json']),
      orchestra(['tasks', 'show', 'no-such-task']),
    ]);
    for (const result of results) {
      expect(result).toMatchObject({ code: 1, stdout: '', stderr: 'orchestra: no task has id no-such-task [ORC_REGISTRY_TASK_NOT_FOUND]\n' });
    }
  });

  it('inspects tasks without the bus, so an unreachable Redis does not get in the way', async () => {
    const stats = await runCli(['tasks', 'stats', '--json', '--redis-url', 'redis://127.0.0.1:1'], { env, cwd });
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout).total).toBe((await registry.counts()).total);
  });

  it('registers, retries and cancels tasks with Redis unreachable, saying that workers are not woken', async () => {
    const added = await runCli(['tasks', 'add', '--kind', 'no-bus', '--payload', '{"n":1}', '--json', '--redis-url', 'redis://127.0.0.1:1'], { env, cwd });
    expect(added.code).toBe(0);
    expect(added.stderr).toContain('connection refused');
    expect(added.stderr).toContain('workers are not woken');
    const [task] = JSON.parse(added.stdout) as { taskId: string }[];
    expect(await registry.get(task!.taskId)).toMatchObject({ kind: 'no-bus', status: 'PENDING', payload: { n: 1 } });
    const cancelled = await runCli(['tasks', 'cancel', task!.taskId, '--redis-url', 'redis://127.0.0.1:1'], { env, cwd });
    expect(cancelled.code).toBe(0);
    expect(await registry.get(task!.taskId)).toMatchObject({ status: 'CANCELLED' });
  });

  it('prunes finished tasks and lists dead letters', async () => {
    expect(JSON.parse((await orchestra(['tasks', 'prune', '--older-than-hours', '1', '--json'])).stdout)).toEqual({ pruned: 0 });
    await db.query(`INSERT INTO dead_letters (source, code, reason, raw, received_at) VALUES ('inbox:a', 'ORC_PROTOCOL_INVALID_JSON', 'bad', '{', now())`);
    const letters = JSON.parse((await orchestra(['dead-letters', '--json'])).stdout);
    expect(letters).toEqual([expect.objectContaining({ source: 'inbox:a', code: 'ORC_PROTOCOL_INVALID_JSON', reason: 'bad' })]);
  });
});
