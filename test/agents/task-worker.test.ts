import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { ManualClock, NonRetryableError, createRng, type Task, type TaskContext } from '../../src/protocol/index.js';
import { openPglite, openPostgres, migrate, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createMemoryBus, type Bus } from '../../src/bus/index.js';
import { TaskWorker, type WorkerOptions } from '../../src/agents/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';

const LEASE_MS = 30_000;

/** A handler whose runs the test finishes by hand. */
function gate() {
  const runs: { task: Task; context: TaskContext; finish(value?: unknown): void; fail(err: unknown): void }[] = [];
  const handler = (task: Task, context: TaskContext) =>
    new Promise<never>((resolve, reject) => {
      runs.push({ task, context, finish: (v) => resolve(v as never), fail: reject });
      context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true });
    });
  return { runs, handler };
}

/** Waits on real I/O (the database), bounded; time on the clock never passes by itself. */
async function until<T>(what: string, check: () => Promise<T | false | undefined | null> | T | false | undefined | null): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function workerSuite(name: string, open: () => Promise<Db>, dispose: (db: Db) => Promise<void>) {
  describe(`task worker on ${name}`, () => {
    let db: Db;
    let clock: ManualClock;
    let bus: Bus;
    let registry: TaskRegistry;
    const workers: TaskWorker[] = [];

    beforeEach(async () => {
      clock = new ManualClock();
      db = await open();
      await migrate(db, clock.now());
      bus = createMemoryBus({ clock });
      registry = new TaskRegistry({ db, clock, rng: createRng(5), bus, config: { leaseMs: LEASE_MS, backoffBaseMs: 1_000 } });
    });

    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
      await bus.close();
      await dispose(db);
    });

    const makeWorker = (handlers: TaskWorker['kinds'] extends string[] ? Record<string, never> | object : never, config: WorkerOptions = {}, withBus = true) => {
      const worker = new TaskWorker({
        registry,
        bus: withBus ? bus : undefined,
        clock,
        handlers: handlers as never,
        config: { pollIntervalMs: 1_000, sweepIntervalMs: 0, ...config },
      });
      workers.push(worker);
      return worker;
    };

    it('runs registered tasks to COMPLETED with their results', async () => {
      const worker = makeWorker({ double: async (t: Task) => ({ twice: (t.payload as { n: number }).n * 2 }) });
      await worker.start();
      const regs = await registry.registerMany([1, 2, 3].map((n) => ({ kind: 'double', payload: { n } })));
      const done = await until('all completed', async () => {
        const tasks = await registry.getMany(regs.map((r) => r.task.taskId));
        return tasks.every((t) => t.status === 'COMPLETED') && tasks;
      });
      expect(done.map((t) => t.result).sort((a, b) => (a as { twice: number }).twice - (b as { twice: number }).twice)).toEqual([
        { twice: 2 },
        { twice: 4 },
        { twice: 6 },
      ]);
      expect(worker.stats).toMatchObject({ completed: 3, failed: 0, running: 0 });
    });

    it('never runs more handlers than its concurrency, nor claims more than it can run', async () => {
      const { runs, handler } = gate();
      const worker = makeWorker({ work: handler }, { concurrency: 3 });
      await registry.registerMany(Array.from({ length: 10 }, () => ({ kind: 'work' })));
      await worker.start();
      await until('three running', () => runs.length === 3);
      await clock.advance(1_000); // a poll while full claims nothing
      expect((await registry.counts()).byStatus).toMatchObject({ RUNNING: 3, PENDING: 7 });
      runs[0]!.finish({});
      await until('a fourth start', () => runs.length === 4);
      expect((await registry.counts()).byStatus).toMatchObject({ RUNNING: 3, COMPLETED: 1, PENDING: 6 });
    });

    it('takes the most urgent task first', async () => {
      const { runs, handler } = gate();
      const worker = makeWorker({ work: handler }, { concurrency: 1 });
      await registry.registerMany([8, 8, 8].map((priority) => ({ kind: 'work', priority, payload: { priority } })));
      await registry.register({ kind: 'work', priority: 1, payload: { priority: 1 } });
      await worker.start();
      await until('a start', () => runs.length === 1);
      expect(runs[0]!.task.payload).toEqual({ priority: 1 });
    });

    it('starts work on a wake-up from the bus without waiting for the poll', async () => {
      const { runs, handler } = gate();
      const worker = makeWorker({ work: handler }, { pollIntervalMs: 3_600_000 });
      await worker.start();
      await worker.whenIdle();
      await registry.register({ kind: 'work' });
      await until('the wake-up to start the task', () => runs.length === 1);
    });

    it('finds work by polling when there is no bus', async () => {
      const { runs, handler } = gate();
      const worker = makeWorker({ work: handler }, { pollIntervalMs: 5_000 }, false);
      await worker.start();
      await worker.whenIdle();
      await registry.register({ kind: 'work' });
      await new Promise((r) => setTimeout(r, 50));
      expect(runs).toHaveLength(0);
      await clock.advance(5_000);
      await until('the poll to start the task', () => runs.length === 1);
    });

    it('retries a failing handler after its backoff, then fails with the last error', async () => {
      let calls = 0;
      const worker = makeWorker({
        work: async (_t: Task, { attempt }: TaskContext) => {
          calls++;
          throw new Error(`boom ${attempt}`);
        },
      });
      await worker.start();
      const { task } = await registry.register({ kind: 'work', maxAttempts: 2 });
      await until('first failure', async () => (await registry.get(task.taskId)).error !== null);
      expect((await registry.get(task.taskId)).status).toBe('PENDING');
      await clock.advance(1_000); // the backoff, then the poll
      await until('second failure', async () => (await registry.get(task.taskId)).status === 'FAILED');
      expect(calls).toBe(2);
      expect((await registry.get(task.taskId)).error).toMatchObject({ code: 'ORC_WORKER_HANDLER_FAILED', message: 'boom 2', attempt: 2 });
    });

    it('fails a task at once on a NonRetryableError', async () => {
      const worker = makeWorker({
        work: async () => {
          throw new NonRetryableError('bad input', 'E_INPUT', { field: 'x' });
        },
      });
      await worker.start();
      const { task } = await registry.register({ kind: 'work' });
      const failed = await until('failure', async () => {
        const t = await registry.get(task.taskId);
        return t.status === 'FAILED' && t;
      });
      expect(failed.error).toMatchObject({ code: 'E_INPUT', retryable: false, attempt: 1, details: { field: 'x' } });
    });

    it('aborts the handler of a task cancelled while it runs', async () => {
      const { runs, handler } = gate();
      const worker = makeWorker({ work: handler });
      await worker.start();
      const { task } = await registry.register({ kind: 'work' });
      await until('a start', () => runs.length === 1);
      await registry.cancel(task.taskId);
      await until('the abort', () => runs[0]!.context.signal.aborted);
      expect(runs[0]!.context.signal.reason).toMatchObject({ code: 'ORC_REGISTRY_CANCELLED' });
      await until('the worker to let go', () => worker.stats.running === 0);
      expect((await registry.get(task.taskId)).status).toBe('CANCELLED');
    });

    it('keeps a long task alive by renewing its lease', async () => {
      const { runs, handler } = gate();
      const worker = makeWorker({ work: handler });
      await worker.start();
      const { task } = await registry.register({ kind: 'work' });
      await until('a start', () => runs.length === 1);
      for (let i = 0; i < 3; i++) {
        await clock.advance(LEASE_MS / 3);
        await until('a renewal', async () => (await registry.get(task.taskId)).leaseExpiresAt === clock.now() + LEASE_MS);
      }
      expect(await registry.sweep()).toEqual({ requeued: [], failed: [] });
      runs[0]!.finish({ ok: true });
      await until('completion', async () => (await registry.get(task.taskId)).status === 'COMPLETED');
    });

    it('aborts a handler whose lease was lost, and its late result changes nothing', async () => {
      const { runs, handler } = gate();
      const worker = makeWorker({ work: handler }, { renewEveryMs: LEASE_MS * 2 });
      await worker.start();
      const { task } = await registry.register({ kind: 'work' });
      await until('a start', () => runs.length === 1);
      await clock.advance(LEASE_MS + 1);
      expect((await registry.sweep()).requeued).toEqual([task.taskId]);
      await clock.advance(LEASE_MS); // the renewal finds the lease gone
      await until('the abort', () => runs[0]!.context.signal.aborted);
      expect(runs[0]!.context.signal.reason).toMatchObject({ code: 'ORC_REGISTRY_LEASE_LOST' });
    });

    it('on stop, finishes what completes within the grace period and releases the rest', async () => {
      const { runs, handler } = gate();
      const worker = makeWorker({ work: handler }, { concurrency: 2 });
      await worker.start();
      const regs = await registry.registerMany([{ kind: 'work', maxAttempts: 1 }, { kind: 'work', maxAttempts: 1 }]);
      await until('two starts', () => runs.length === 2);
      const stopping = worker.stop({ graceMs: 5_000 });
      runs[0]!.finish({ done: true });
      await until('the first to complete', async () => (await registry.get(runs[0]!.task.taskId)).status === 'COMPLETED');
      await clock.advance(5_000);
      expect(await stopping).toEqual({ finished: 1, released: 1 });
      const released = await registry.get(runs[1]!.task.taskId);
      expect(released).toMatchObject({ status: 'PENDING', workerId: null });
      expect(runs[1]!.context.signal.reason).toMatchObject({ code: 'ORC_WORKER_SHUTDOWN' });
      // Releasing spent no attempt: the single allowed attempt is still there.
      const [again] = await registry.claim({ kinds: ['work'], workerId: 'next', limit: 1 });
      expect(again?.taskId).toBe(released.taskId);
      expect(regs).toHaveLength(2);
    });

    it('sweeps expired leases of other workers when asked to', async () => {
      const worker = makeWorker({ work: async () => ({}) }, { sweepIntervalMs: LEASE_MS + 1 });
      const { task } = await registry.register({ kind: 'work' });
      await registry.claim({ kinds: ['work'], workerId: 'dead-worker', limit: 1 });
      await worker.start();
      await clock.advance(LEASE_MS + 1);
      const done = await until('the swept task to complete here', async () => {
        const t = await registry.get(task.taskId);
        return t.status === 'COMPLETED' && t;
      });
      expect(done).toMatchObject({ attempt: 2, workerId: worker.workerId });
    });
  });
}

let shared: Db | undefined;
workerSuite(
  'PGlite',
  async () => {
    shared ??= await openPglite({ dataDir: ':memory:', schema: 'orchestra' });
    await shared.query('DROP SCHEMA IF EXISTS orchestra CASCADE');
    await shared.query('CREATE SCHEMA orchestra');
    return shared;
  },
  async () => undefined,
);

workerSuite(
  'PostgreSQL',
  () => openPostgres({ url: DATABASE_URL, schema: uniqueName('worker') }),
  async (db) => {
    await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await db.close();
  },
);
