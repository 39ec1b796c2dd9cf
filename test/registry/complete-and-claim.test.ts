import { describe, it, expect, beforeEach, afterEach, afterAll } from 'vitest';
import { ManualClock, createRng, taskTopic, type Message } from '../../src/protocol/index.js';
import { migrate, openPglite, openPostgres, type Db } from '../../src/store/index.js';
import { TaskRegistry, type RegistryOptions } from '../../src/registry/index.js';
import { createMemoryBus } from '../../src/bus/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';

const LEASE_MS = 30_000;
const config: RegistryOptions = { leaseMs: LEASE_MS, maxAttempts: 3, backoffBaseMs: 1_000, backoffMaxMs: 60_000 };

let pglite: Db | undefined;
const backends: [string, () => Promise<Db>, (db: Db) => Promise<void>][] = [
  [
    'PGlite',
    async () => {
      pglite ??= await openPglite({ dataDir: ':memory:', schema: 'orchestra' });
      await pglite.query(`DROP SCHEMA IF EXISTS orchestra CASCADE`);
      await pglite.query(`CREATE SCHEMA orchestra`);
      return pglite;
    },
    async () => undefined,
  ],
  [
    'PostgreSQL',
    () => openPostgres({ url: DATABASE_URL, schema: uniqueName('cac'), poolSize: 4 }),
    async (db) => {
      await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
      await db.close();
    },
  ],
];

afterAll(async () => {
  await pglite?.close();
});

/**
 * The worker's round trip (complete the finished attempts, claim the next) is
 * one store function answering in one row: what it hands out and what it
 * refuses must be what the separate calls would give.
 */
describe.each(backends)('complete and claim on %s', (_name, open, dispose) => {
  let db: Db;
  let clock: ManualClock;
  let registry: TaskRegistry;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 1));
    db = await open();
    await migrate(db, clock.now());
    registry = new TaskRegistry({ db, clock, rng: createRng(7), config });
  });

  afterEach(async () => {
    await dispose(db);
  });

  it('hands out each claimed task exactly as reading it gives it', async () => {
    await registry.registerMany([
      { kind: 'work', taskId: 'parent', priority: 1 },
      { kind: 'work', taskId: 'plain', priority: 3, payload: { nested: { list: [1, 'two', null, true], unicode: 'é ☃ \u{1F600}' }, big: 12345678901234 } },
      { kind: 'work', taskId: 'keyed', priority: 3, idempotencyKey: 'key-1', timeoutMs: 5_000, maxAttempts: 7, runAt: clock.now() - 10_000 },
      { kind: 'work', taskId: 'flaky', priority: 4 },
    ]);
    await registry.register({ kind: 'work', taskId: 'child', priority: 2, dependsOn: ['parent'] });
    // 'flaky' fails once and waits out its backoff, keeping its error; 'parent' completes, unblocking 'child'.
    const first = await registry.claim({ kinds: ['work'], workerId: 'w0', limit: 10 });
    const attemptOf = (id: string) => first.find((t) => t.taskId === id)!.attempt;
    await registry.fail({ taskId: 'flaky', attempt: attemptOf('flaky'), workerId: 'w0', error: { code: 'E_FLAKY', message: 'once' } });
    await registry.complete({ taskId: 'parent', attempt: attemptOf('parent'), workerId: 'w0', result: { ok: true } });
    await registry.release(['plain', 'keyed'].map((taskId) => ({ taskId, attempt: attemptOf(taskId) })));
    await clock.advance(60_000);

    const { outcomes, claimed } = await registry.completeAndClaim([], { kinds: ['work'], workerId: 'w1', limit: 10 });
    expect(outcomes).toEqual([]);
    expect(claimed.map((t) => t.taskId)).toEqual(['child', 'plain', 'keyed', 'flaky']);
    expect(claimed).toEqual(await Promise.all(claimed.map((t) => registry.get(t.taskId))));
    expect(claimed.find((t) => t.taskId === 'flaky')).toMatchObject({ status: 'RUNNING', attempt: 2, error: { code: 'E_FLAKY', attempt: 1 } });
    expect(claimed.find((t) => t.taskId === 'keyed')).toMatchObject({ idempotencyKey: 'key-1', timeoutMs: 5_000 });
    expect(claimed.find((t) => t.taskId === 'child')).toMatchObject({ dependsOn: ['parent'], workerId: 'w1', leaseExpiresAt: clock.now() + LEASE_MS, updatedAt: clock.now() });
  });

  it('refuses a stale attempt in a batch alone, keeping it as late, and still claims', async () => {
    await registry.registerMany(['a', 'b', 'c', 'd', 'e'].map((taskId) => ({ kind: 'work', taskId })));
    const held = await registry.claim({ kinds: ['work'], workerId: 'w1', limit: 3 });
    expect(held.map((t) => t.taskId)).toEqual(['a', 'b', 'c']);
    const { outcomes, claimed } = await registry.completeAndClaim(
      [
        { taskId: 'a', attempt: 1, workerId: 'w1', result: { n: 'a' } },
        { taskId: 'b', attempt: 7, workerId: 'w9', result: { n: 'forged' } },
        { taskId: 'c', attempt: 1, workerId: 'w1', result: { n: 'c' } },
      ],
      { kinds: ['work'], workerId: 'w1', limit: 5 },
    );
    expect(outcomes).toEqual([
      { taskId: 'a', accepted: true, status: 'COMPLETED' },
      { taskId: 'b', accepted: false, status: null },
      { taskId: 'c', accepted: true, status: 'COMPLETED' },
    ]);
    expect(claimed.map((t) => t.taskId)).toEqual(['d', 'e']);
    expect(await registry.get('a')).toMatchObject({ status: 'COMPLETED', result: { n: 'a' } });
    expect(await registry.get('b')).toMatchObject({ status: 'RUNNING', attempt: 1, workerId: 'w1', result: null });
    expect(await registry.get('c')).toMatchObject({ status: 'COMPLETED', result: { n: 'c' } });
    expect(await registry.lateReports('b')).toEqual([
      expect.objectContaining({ task_id: 'b', attempt: 7, worker_id: 'w9', outcome: 'completed', result: { n: 'forged' } }),
    ]);
    expect(await registry.lateReports('a')).toEqual([]);
  });

  it('fences each report on its own attempt: the old attempt of a task reclaimed is late, the new one accepted', async () => {
    await registry.register({ kind: 'work', taskId: 'x' });
    const [old] = await registry.claim({ kinds: ['work'], workerId: 'w1', limit: 1 });
    await clock.advance(LEASE_MS + 1);
    await registry.sweep();
    const [current] = await registry.claim({ kinds: ['work'], workerId: 'w2', limit: 1 });
    expect(current!.attempt).toBe(old!.attempt + 1);
    const { outcomes } = await registry.completeAndClaim(
      [
        { taskId: 'x', attempt: old!.attempt, workerId: 'w1', result: 'old' },
        { taskId: 'x', attempt: current!.attempt, workerId: 'w2', result: 'new' },
      ],
      { kinds: ['work'], workerId: 'w2', limit: 1 },
    );
    expect(outcomes.map((o) => o.accepted)).toEqual([false, true]);
    expect(await registry.get('x')).toMatchObject({ status: 'COMPLETED', attempt: current!.attempt, result: 'new' });
    expect((await registry.lateReports('x')).map((r) => [r.attempt, r.result])).toEqual([[old!.attempt, 'old']]);
  });

  it('claims across kinds most urgent first, FIFO within a priority', async () => {
    await registry.registerMany([
      { kind: 'x', taskId: 'x5', priority: 5 },
      { kind: 'y', taskId: 'y2', priority: 2 },
      { kind: 'x', taskId: 'x2', priority: 2 },
      { kind: 'z', taskId: 'z1', priority: 1 },
      { kind: 'y', taskId: 'y9', priority: 9 },
    ]);
    const { claimed } = await registry.completeAndClaim([], { kinds: ['x', 'y'], workerId: 'w1', limit: 3 });
    expect(claimed.map((t) => t.taskId)).toEqual(['y2', 'x2', 'x5']);
    expect(claimed.every((t) => t.status === 'RUNNING' && t.workerId === 'w1')).toBe(true);
  });

  it('completes without claiming when the limit is 0, and wakes the kind of a dependent it unblocks', async () => {
    const bus = createMemoryBus({ clock });
    const woken: Message[] = [];
    await bus.subscribe({ topic: taskTopic('later') }, (m) => void woken.push(m));
    const notifying = new TaskRegistry({ db, clock, rng: createRng(1), bus, config });
    await notifying.registerMany([
      { kind: 'work', taskId: 'parent' },
      { kind: 'work', taskId: 'other' },
      { kind: 'later', taskId: 'child', dependsOn: ['parent'] },
    ]);
    const [parent] = await notifying.claim({ kinds: ['work'], workerId: 'w1', limit: 1 });
    const { outcomes, claimed } = await notifying.completeAndClaim([{ taskId: 'parent', attempt: parent!.attempt, workerId: 'w1' }], {
      kinds: ['work'],
      workerId: 'w1',
      limit: 0,
    });
    expect(outcomes).toEqual([{ taskId: 'parent', accepted: true, status: 'COMPLETED' }]);
    expect(claimed).toEqual([]);
    await clock.advance(0);
    expect(woken.map((m) => m.data)).toEqual([{ kind: 'later' }]);
    expect((await notifying.claim({ kinds: ['later'], workerId: 'w2', limit: 1 })).map((t) => t.taskId)).toEqual(['child']);
    expect((await notifying.get('other')).status).toBe('PENDING');
    await bus.close();
  });
});
