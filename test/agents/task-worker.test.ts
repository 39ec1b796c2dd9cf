import { describe, it, expect, beforeAll, beforeEach, afterEach, afterAll } from 'vitest';
import {
  CANCELLED_TOPIC,
  ManualClock,
  NonRetryableError,
  createMessage,
  taskCancelledEvent,
  OrchestraError,
  createRng,
  type Task,
  type TaskContext,
  type TaskHandler,
} from '../../src/protocol/index.js';
import { openStore, migrate, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createMemoryBus, type Bus } from '../../src/bus/index.js';
import { TaskWorker, type TaskWorkerEvents, type WorkerOptions } from '../../src/agents/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';
import { counting, failingFirst, gate, heldClaims, recordingReports, until } from './helpers.js';

const LEASE_MS = 30_000;
const START_MS = Date.UTC(2026, 0, 1);

interface Backend {
  name: string;
  open(nowMs: number): Promise<Db>;
  close(db: Db): Promise<void>;
}

/** Every case runs on PGlite; PostgreSQL runs the ones whose SQL paths differ in timing and locking. */
function workerSuite(backend: Backend, scope: 'all' | 'core') {
  const full = (name: string, fn: () => Promise<void>) => {
    if (scope === 'all') it(name, fn);
  };
  describe(`task worker on ${backend.name}`, () => {
    let db: Db;
    let clock: ManualClock;
    let bus: Bus;
    let registry: TaskRegistry;
    const workers: TaskWorker[] = [];

    beforeAll(async () => {
      db = await backend.open(START_MS);
    });

    afterAll(async () => {
      await backend.close(db);
    });

    beforeEach(async () => {
      clock = new ManualClock(START_MS);
      await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
      await migrate(db, clock.now());
      bus = createMemoryBus({ clock });
      registry = new TaskRegistry({ db, clock, rng: createRng(1), bus, config: { leaseMs: LEASE_MS, backoffBaseMs: 1_000 } });
    });

    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
      await bus.close();
    });

    function makeWorker(
      handlers: Record<string, TaskHandler>,
      config: WorkerOptions = {},
      deps: { bus?: Bus | null; registry?: TaskRegistry } = {},
    ): TaskWorker {
      const worker = new TaskWorker({
        registry: deps.registry ?? registry,
        bus: deps.bus === null ? undefined : (deps.bus ?? bus),
        clock,
        handlers,
        workerId: `w${workers.length + 1}`,
        config: { sweepIntervalMs: 0, ...config },
      });
      workers.push(worker);
      return worker;
    }

    function record<K extends keyof TaskWorkerEvents>(worker: TaskWorker, event: K): TaskWorkerEvents[K][] {
      const seen: TaskWorkerEvents[K][] = [];
      (worker.on as (e: K, l: (...args: TaskWorkerEvents[K]) => void) => unknown)(event, (...args) => seen.push(args));
      return seen;
    }

    const statusOf = async (taskId: string) => (await registry.get(taskId)).status;

    it('runs registered tasks to COMPLETED with their results, and says so', async () => {
      const worker = makeWorker({ double: async (t: Task) => ({ twice: (t.payload as { n: number }).n * 2 }) });
      const started = record(worker, 'task_started');
      const completed = record(worker, 'task_completed');
      await worker.start();
      const regs = await registry.registerMany([1, 2, 3].map((n) => ({ kind: 'double', payload: { n } })));
      const done = await until('all three completed', async () => {
        const tasks = await registry.getMany(regs.map((r) => r.task.taskId));
        return tasks.every((t) => t.status === 'COMPLETED') && tasks;
      });
      expect(done.map((t) => (t.result as { twice: number }).twice).sort()).toEqual([2, 4, 6]);
      expect(done.every((t) => t.workerId === worker.workerId && t.attempt === 1)).toBe(true);
      await worker.whenIdle();
      expect(worker.stats).toEqual({ running: 0, claimed: 3, completed: 3, failed: 0, lost: 0 });
      expect(started).toHaveLength(3);
      const results = completed.map(([task, { result }]) => [task.kind, (result as { twice: number }).twice] as const);
      expect(results.sort((a, b) => a[1] - b[1])).toEqual([
        ['double', 2],
        ['double', 4],
        ['double', 6],
      ]);
    });

    it('never runs more handlers than its concurrency, nor claims more than it can run', async () => {
      const g = gate();
      // Never claiming ahead (see the prefetch cases below).
      const worker = makeWorker({ work: g.handler }, { concurrency: 3, prefetch: 0 });
      await registry.registerMany(Array.from({ length: 8 }, () => ({ kind: 'work' })));
      await worker.start();
      await until('three running', () => g.runs.length === 3);
      await clock.advance(1_000); // a poll while full claims nothing
      expect((await registry.counts()).byStatus).toMatchObject({ RUNNING: 3, PENDING: 5 });
      for (let finished = 1; finished <= 8; finished++) {
        g.runs[finished - 1]!.finish({});
        const expectedRunning = Math.min(3, 8 - finished);
        await until(`completion ${finished}`, async () => (await registry.counts()).byStatus.COMPLETED === finished);
        await until('the freed slot to be taken', () => g.runs.length === Math.min(8, finished + 3));
        const { byStatus } = await registry.counts();
        expect(byStatus.RUNNING).toBe(expectedRunning);
        expect(worker.stats.running).toBeLessThanOrEqual(3);
      }
      expect(g.peak).toBe(3);
      await worker.whenIdle();
      expect(worker.stats).toMatchObject({ claimed: 8, completed: 8 });
    });

    it('claims up to prefetch tasks ahead of its free slots and starts them as slots free, never running more than its concurrency', async () => {
      const g = gate();
      const worker = makeWorker({ work: g.handler }, { concurrency: 2, prefetch: 2 });
      const regs = await registry.registerMany(Array.from({ length: 7 }, (_, i) => ({ kind: 'work', payload: { i } })));
      await worker.start();
      await until('two running', () => g.runs.length === 2);
      // Two run, two more are held for this worker, three wait for anyone.
      await until('two claimed ahead', async () => (await registry.counts()).byStatus.RUNNING === 4);
      expect((await registry.counts()).byStatus).toMatchObject({ RUNNING: 4, PENDING: 3 });
      expect(g.running).toBe(2);
      for (let finished = 1; finished <= 7; finished++) {
        g.runs[finished - 1]!.finish({});
        await until(`completion ${finished}`, async () => (await registry.counts()).byStatus.COMPLETED === finished);
        await until('the freed slot to be taken', () => g.runs.length === Math.min(7, finished + 2));
      }
      expect(g.peak).toBe(2);
      // In claim order.
      expect(g.runs.map((r) => (r.task.payload as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      await worker.whenIdle();
      expect(worker.stats).toMatchObject({ claimed: 7, completed: 7 });
      expect(new Set((await registry.getMany(regs.map((r) => r.task.taskId))).map((t) => t.attempt))).toEqual(new Set([1]));
    });

    it('gives back the tasks it claimed ahead when it stops, and renews their leases while they wait', async () => {
      const g = gate();
      const worker = makeWorker({ work: g.handler }, { concurrency: 1, prefetch: 2 });
      await registry.registerMany(Array.from({ length: 3 }, () => ({ kind: 'work' })));
      await worker.start();
      await until('one running, two claimed ahead', async () => g.runs.length === 1 && (await registry.counts()).byStatus.RUNNING === 3);
      const held = (await registry.list({ status: ['RUNNING'] })).map((t) => t.taskId);
      // Past two leases, renewed all along, the ones waiting too: nothing is swept back.
      for (let third = 0; third < 6; third++) {
        await clock.advance(LEASE_MS / 3);
        const expiry = clock.now() + LEASE_MS;
        await until('a renewal of all three', async () => (await registry.getMany(held)).every((t) => t.leaseExpiresAt === expiry));
      }
      expect(await registry.sweep()).toEqual({ requeued: [], failed: [] });
      expect((await registry.counts()).byStatus).toMatchObject({ RUNNING: 3 });
      const stopping = worker.stop({ graceMs: 0 });
      expect(await stopping).toEqual({ finished: 0, released: 3 });
      expect((await registry.counts()).byStatus).toMatchObject({ PENDING: 3 });
      expect(g.runs).toHaveLength(1);
    });

    it('takes the most urgent task first', async () => {
      const g = gate();
      const worker = makeWorker({ work: g.handler }, { concurrency: 1 });
      await registry.registerMany([8, 5, 8].map((priority) => ({ kind: 'work', priority, payload: { priority } })));
      await registry.register({ kind: 'work', priority: 1, payload: { priority: 1 } });
      await worker.start();
      await until('a start', () => g.runs.length === 1);
      expect(g.runs[0]!.task.payload).toEqual({ priority: 1 });
      g.runs[0]!.finish();
      await until('the next start', () => g.runs.length === 2);
      expect(g.runs[1]!.task.payload).toEqual({ priority: 5 });
    });

    it('starts work on a wake-up from the bus without waiting for the poll', async () => {
      const g = gate();
      const worker = makeWorker({ work: g.handler }, { pollIntervalMs: 3_600_000 });
      await worker.start();
      await worker.whenIdle();
      await registry.register({ kind: 'work' });
      await until('the wake-up to start the task', () => g.runs.length === 1);
    });

    it('finds work by polling on its clock when there is no bus', async () => {
      const g = gate();
      const claims = counting(registry, 'claim');
      const worker = makeWorker({ work: g.handler }, { pollIntervalMs: 5_000 }, { bus: null, registry: claims.registry });
      await worker.start();
      await worker.whenIdle();
      expect(claims.state.calls).toBe(1);
      await registry.register({ kind: 'work' });
      // Nothing but the poll can trigger a claim here: no claim is started without it.
      await clock.advance(4_999);
      expect(claims.state.calls).toBe(1);
      await clock.advance(1);
      expect(claims.state.calls).toBe(2);
      await until('the poll to start the task', () => g.runs.length === 1);
    });

    full('keeps one claim in flight, and a wake-up during it claims again afterwards', async () => {
      const held = heldClaims(registry);
      const g = gate();
      const worker = makeWorker({ work: g.handler }, { pollIntervalMs: 3_600_000 }, { registry: held.registry });
      await worker.start();
      await until('the first claim to have looked and found nothing', () => held.held === 1);
      // Wake-ups and a poll while that claim is out: none starts a second one.
      await registry.register({ kind: 'work' });
      await registry.register({ kind: 'work' });
      await clock.advance(3_600_000);
      expect(held.state).toMatchObject({ calls: 1, inFlight: 1 });
      held.releaseAll();
      // The requests that came meanwhile were kept: one more claim finds both tasks.
      await until('a second claim', () => held.held === 1);
      expect(held.state.calls).toBe(2);
      held.releaseAll();
      await until('both tasks to start', () => g.runs.length === 2);
      expect(held.state.maxInFlight).toBe(1);
      for (const run of g.runs) run.finish();
      // Whatever claims the freed slots make go one at a time too.
      await until('the worker to settle', () => {
        held.releaseAll();
        return worker.stats.completed === 2 && held.state.inFlight === 0;
      });
      expect(held.state.maxInFlight).toBe(1);
    });

    full('retries a failing handler after its backoff, then fails it with the last error', async () => {
      const attempts: number[] = [];
      const worker = makeWorker({
        work: async (_t: Task, { attempt }: TaskContext) => {
          attempts.push(attempt);
          throw new Error(`boom ${attempt}`);
        },
      });
      const failed = record(worker, 'task_failed');
      await worker.start();
      const { task } = await registry.register({ kind: 'work', maxAttempts: 2 });
      await until('the first failure', async () => (await registry.get(task.taskId)).error !== null);
      expect(await registry.get(task.taskId)).toMatchObject({ status: 'PENDING', error: { message: 'boom 1', retryable: true } });
      await worker.whenIdle();
      expect(attempts).toEqual([1]); // the backoff holds the retry back
      await clock.advance(1_000); // past the backoff (at most the base), and a poll
      await until('the final failure', async () => (await statusOf(task.taskId)) === 'FAILED');
      expect(attempts).toEqual([1, 2]);
      expect((await registry.get(task.taskId)).error).toMatchObject({ code: 'ORC_WORKER_HANDLER_FAILED', message: 'boom 2', attempt: 2 });
      expect(failed.map(([, o]) => o.retrying)).toEqual([true, false]);
      expect(worker.stats).toMatchObject({ failed: 2, completed: 0 });
    });

    it('fails a task for good when its result holds text the store cannot keep, and says why', async () => {
      const worker = makeWorker({ dump: async () => ({ stdout: 'raw\u0000bytes' }) });
      const failedEvents = record(worker, 'task_failed');
      await worker.start();
      const { task } = await registry.register({ kind: 'dump', maxAttempts: 3 });
      const failed = await until('the failure', async () => {
        const t = await registry.get(task.taskId);
        return t.status === 'FAILED' && t;
      });
      expect(failed.error).toEqual({
        code: 'ORC_PROTOCOL_UNSTORABLE_TEXT',
        message: 'result.stdout: holds U+0000, which the store cannot keep',
        retryable: false,
        attempt: 1,
        details: { field: 'result.stdout' },
      });
      await worker.whenIdle();
      expect(worker.stats).toMatchObject({ claimed: 1, completed: 0, failed: 1, lost: 0 });
      expect(failedEvents.map(([t, { error, retrying }]) => [t.taskId, error.code, retrying])).toEqual([[task.taskId, 'ORC_PROTOCOL_UNSTORABLE_TEXT', false]]);
    });

    it('fails a task at once on a NonRetryableError, keeping its code and details', async () => {
      const worker = makeWorker({
        work: async () => {
          throw new NonRetryableError('bad input', 'E_INPUT', { field: 'x' });
        },
      });
      await worker.start();
      const { task } = await registry.register({ kind: 'work', maxAttempts: 5 });
      const failed = await until('the failure', async () => {
        const t = await registry.get(task.taskId);
        return t.status === 'FAILED' && t;
      });
      expect(failed.error).toEqual({ code: 'E_INPUT', message: 'bad input', retryable: false, attempt: 1, details: { field: 'x' } });
    });

    it('aborts the handler of a task cancelled while it runs, and does not count it as done', async () => {
      const g = gate();
      const worker = makeWorker({ work: g.handler });
      const lost = record(worker, 'task_lost');
      await worker.start();
      const { task } = await registry.register({ kind: 'work' });
      await until('a start', () => g.runs.length === 1);
      await registry.cancel(task.taskId);
      await until('the abort', () => g.runs[0]!.context.signal.aborted);
      expect(g.runs[0]!.context.signal.reason).toBeInstanceOf(OrchestraError);
      expect(g.runs[0]!.context.signal.reason).toMatchObject({ code: 'ORC_REGISTRY_CANCELLED' });
      await worker.whenIdle();
      expect(await statusOf(task.taskId)).toBe('CANCELLED');
      expect(worker.stats).toMatchObject({ running: 0, completed: 0, failed: 0, lost: 1 });
      expect(lost[0]![1].reason.code).toBe('ORC_REGISTRY_CANCELLED');
    });

    it('never starts a task claimed ahead that was cancelled while it waited', async () => {
      const g = gate();
      const worker = makeWorker({ work: g.handler }, { concurrency: 1, prefetch: 1 });
      const [first, second, third] = await registry.registerMany([1, 2, 3].map((n) => ({ kind: 'work', payload: { n } })));
      await worker.start();
      await until('one running, one claimed ahead', async () => g.runs.length === 1 && (await statusOf(second!.task.taskId)) === 'RUNNING');
      await registry.cancel(second!.task.taskId);
      // Dropped once the registry confirms it, which lets the worker claim the third ahead instead.
      await until('the third claimed ahead', async () => (await statusOf(third!.task.taskId)) === 'RUNNING');
      g.runs[0]!.finish({});
      await until('the third started', () => g.runs.length === 2);
      expect(g.runs.map((r) => r.task.taskId)).toEqual([first!.task.taskId, third!.task.taskId]);
      g.runs[1]!.finish({});
      await worker.whenIdle();
      expect(await statusOf(second!.task.taskId)).toBe('CANCELLED');
      expect(worker.stats).toMatchObject({ completed: 2, lost: 0 });
    });

    it('ignores a cancel notice the registry does not confirm: anyone can write to the topic', async () => {
      const g = gate();
      const checked: string[] = [];
      const checking = Object.create(registry) as TaskRegistry;
      checking.get = async (taskId: string) => {
        const task = await registry.get(taskId);
        checked.push(taskId);
        return task;
      };
      const worker = makeWorker({ work: g.handler }, {}, { registry: checking });
      const lost = record(worker, 'task_lost');
      await worker.start();
      const { task } = await registry.register({ kind: 'work', payload: { n: 1 } });
      await until('a start', () => g.runs.length === 1);
      const forged = createMessage(
        { type: 'event', from: 'intruder', to: null, action: taskCancelledEvent.name, data: { taskId: task.taskId, attempt: 1, workerId: worker.workerId, reason: 'forged' } },
        clock.now(),
      );
      await bus.publish(CANCELLED_TOPIC, forged);
      await until('the notice handled', () => checked.includes(task.taskId) || g.runs[0]!.context.signal.aborted);
      // The worker decides in the microtasks that follow the check; they all run before this.
      await new Promise((resolve) => setImmediate(resolve));
      expect(g.runs[0]!.context.signal.aborted).toBe(false);
      g.runs[0]!.finish({ ok: true });
      await until('completed', async () => (await statusOf(task.taskId)) === 'COMPLETED');
      expect(lost).toHaveLength(0);
    });

    it('fails an attempt past its run timeout and frees its slot, the task\'s own timeout first, then its kind\'s, then the default', async () => {
      const g = gate({ ignoreAbort: true });
      const worker = makeWorker({ work: g.handler, other: g.handler }, { concurrency: 2, runTimeoutMs: 60_000, runTimeoutMsByKind: { work: 20_000 } });
      const failed = record(worker, 'task_failed');
      await worker.start();
      const [own, byKind] = await registry.registerMany([
        { kind: 'work', timeoutMs: 5_000, maxAttempts: 1 },
        { kind: 'work', maxAttempts: 1 },
      ]);
      await until('two starts', () => g.runs.length === 2);
      await clock.advance(5_000);
      await until('the first timeout', () => failed.length === 1);
      expect(failed[0]![0].taskId).toBe(own!.task.taskId);
      expect(failed[0]![1].error).toMatchObject({ code: 'ORC_WORKER_RUN_TIMEOUT', retryable: true });
      expect(await registry.get(own!.task.taskId)).toMatchObject({ status: 'FAILED', timeoutMs: 5_000 });
      // Its handler never settled, yet its slot is free again.
      const { task: third } = await registry.register({ kind: 'other' });
      await until('the third start', () => g.runs.some((r) => r.task.taskId === third.taskId));
      await clock.advance(15_000);
      await until('the kind\'s timeout', () => failed.length === 2);
      expect(failed[1]![0].taskId).toBe(byKind!.task.taskId);
      // The third started when the first timed out, 5 s in: its 60 s run ends 65 s in.
      await clock.advance(44_999);
      expect(g.runs.find((r) => r.task.taskId === third.taskId)!.context.signal.aborted).toBe(false);
      await clock.advance(1);
      await until('the default timeout', () => failed.some(([t]) => t.taskId === third.taskId));
      expect(g.runs.every((r) => r.context.signal.aborted)).toBe(true);
    });

    it('keeps a long task alive past several leases by renewing it', async () => {
      const g = gate();
      const worker = makeWorker({ work: g.handler });
      await worker.start();
      const { task } = await registry.register({ kind: 'work' });
      await until('a start', () => g.runs.length === 1);
      for (let lease = 1; lease <= 3; lease++) {
        for (let third = 0; third < 3; third++) {
          await clock.advance(LEASE_MS / 3);
          const expiry = clock.now() + LEASE_MS;
          await until('a renewal', async () => (await registry.get(task.taskId)).leaseExpiresAt === expiry);
        }
        expect(await registry.sweep()).toEqual({ requeued: [], failed: [] });
      }
      expect(g.runs[0]!.context.signal.aborted).toBe(false);
      g.runs[0]!.finish({ ok: true });
      await until('completion', async () => (await statusOf(task.taskId)) === 'COMPLETED');
      expect(await registry.get(task.taskId)).toMatchObject({ attempt: 1, result: { ok: true } });
    });

    it('aborts a handler whose lease was lost; its late result changes nothing and is not counted', async () => {
      const g = gate({ ignoreAbort: true });
      // Full with one task, so the requeued task cannot come back to this worker.
      const worker = makeWorker({ work: g.handler }, { renewEveryMs: 10_000, concurrency: 1 });
      await worker.start();
      const { task } = await registry.register({ kind: 'work' });
      await until('a start', () => g.runs.length === 1);
      // The lease runs out (as if renewals had stalled) and another worker takes the task over.
      await db.query('UPDATE tasks SET lease_expires_at = $2 WHERE task_id = $1', [task.taskId, new Date(clock.now() - 1)]);
      expect((await registry.sweep()).requeued).toEqual([task.taskId]);
      const [takeover] = await registry.claim({ kinds: ['work'], workerId: 'other', limit: 1 });
      expect(takeover).toMatchObject({ taskId: task.taskId, attempt: 2 });
      await clock.advance(10_000); // the next renewal finds the lease gone
      await until('the abort', () => g.runs[0]!.context.signal.aborted);
      expect(g.runs[0]!.context.signal.reason).toMatchObject({ code: 'ORC_REGISTRY_LEASE_LOST' });
      g.runs[0]!.finish({ late: true });
      await worker.whenIdle();
      expect(await registry.get(task.taskId)).toMatchObject({ status: 'RUNNING', attempt: 2, workerId: 'other', result: null });
      expect((await registry.lateReports(task.taskId)).map((r) => r.attempt)).toEqual([1]);
      expect(worker.stats).toMatchObject({ completed: 0, lost: 1 });
    });


    it('reports results that finish together in one statement, which also claims for the freed slots', async () => {
      const g = gate();
      const calls = recordingReports(registry);
      const worker = makeWorker({ work: g.handler }, { concurrency: 20 });
      const completed = record(worker, 'task_completed');
      await registry.registerMany(Array.from({ length: 30 }, (_, i) => ({ kind: 'work', payload: { i } })));
      await worker.start();
      await until('twenty running', () => g.runs.length === 20);
      for (const run of g.runs) run.finish({ i: (run.task.payload as { i: number }).i });
      await until('the next ten to start', () => g.runs.length === 30);
      // The twenty results went in one statement, and the ten waiting tasks came back with its answer.
      expect(calls).toEqual([{ method: 'completeAndClaim', reports: 20 }]);
      expect(completed).toHaveLength(20);
      expect((await registry.counts()).byStatus).toMatchObject({ COMPLETED: 20, RUNNING: 10 });
      for (const run of g.runs.slice(20)) run.finish({});
      await worker.whenIdle();
      expect(calls.reduce((n, c) => n + c.reports, 0)).toBe(30);
      expect(worker.stats).toMatchObject({ claimed: 30, completed: 30, lost: 0 });
    });

    it('refuses a stale attempt in a batch alone and accepts the others', async () => {
      const g = gate({ ignoreAbort: true });
      const calls = recordingReports(registry);
      const worker = makeWorker({ work: g.handler }, { concurrency: 2 });
      const lost = record(worker, 'task_lost');
      await worker.start();
      const [stale, fresh] = await registry.registerMany([{ kind: 'work' }, { kind: 'work' }]);
      await until('both running', () => g.runs.length === 2);
      // One lease runs out and another worker takes that task over, unknown to this one.
      await db.query('UPDATE tasks SET lease_expires_at = $2 WHERE task_id = $1', [stale!.task.taskId, new Date(clock.now() - 1)]);
      expect((await registry.sweep()).requeued).toEqual([stale!.task.taskId]);
      await registry.claim({ kinds: ['work'], workerId: 'other', limit: 1 });
      for (const run of g.runs) run.finish({ by: worker.workerId });
      await worker.whenIdle();
      expect(calls).toEqual([{ method: 'completeAndClaim', reports: 2 }]);
      expect(await registry.get(fresh!.task.taskId)).toMatchObject({ status: 'COMPLETED', result: { by: worker.workerId } });
      expect(await registry.get(stale!.task.taskId)).toMatchObject({ status: 'RUNNING', attempt: 2, workerId: 'other', result: null });
      expect((await registry.lateReports(stale!.task.taskId)).map((r) => r.attempt)).toEqual([1]);
      expect(lost.map(([task]) => task.taskId)).toEqual([stale!.task.taskId]);
      expect(worker.stats).toMatchObject({ completed: 1, lost: 1 });
    });

    it('records failures that finish together in one transaction', async () => {
      const g = gate();
      const calls = recordingReports(registry);
      const worker = makeWorker({ work: g.handler }, { concurrency: 5 });
      const failed = record(worker, 'task_failed');
      await registry.registerMany(Array.from({ length: 5 }, () => ({ kind: 'work', maxAttempts: 1 })));
      await worker.start();
      await until('five running', () => g.runs.length === 5);
      for (const run of g.runs) run.fail(new NonRetryableError('broken input', 'E_INPUT'));
      await worker.whenIdle();
      expect(calls).toEqual([{ method: 'failMany', reports: 5 }]);
      expect(failed).toHaveLength(5);
      expect((await registry.counts()).byStatus).toMatchObject({ FAILED: 5 });
    });
    it('on stop, finishes what completes within the grace period and releases the rest without spending an attempt', async () => {
      const g = gate();
      const worker = makeWorker({ work: g.handler }, { concurrency: 2 });
      await worker.start();
      await registry.registerMany([
        { kind: 'work', maxAttempts: 1 },
        { kind: 'work', maxAttempts: 1 },
      ]);
      await until('two starts', () => g.runs.length === 2);
      const stopping = worker.stop({ graceMs: 5_000 });
      await registry.register({ kind: 'work' }); // stopped claiming: this one stays
      g.runs[0]!.finish({ done: true });
      await until('the first to complete', async () => (await statusOf(g.runs[0]!.task.taskId)) === 'COMPLETED');
      await clock.advance(5_000);
      expect(await stopping).toEqual({ finished: 1, released: 1 });
      expect(await worker.stop()).toEqual({ finished: 1, released: 1 });
      expect(g.runs).toHaveLength(2);
      const released = await registry.get(g.runs[1]!.task.taskId);
      expect(released).toMatchObject({ status: 'PENDING', workerId: null });
      expect(g.runs[1]!.context.signal.reason).toMatchObject({ code: 'ORC_WORKER_SHUTDOWN' });
      expect(worker.stats).toMatchObject({ completed: 1, running: 0 });
      // The single allowed attempt is still there for the next worker, and it succeeds.
      const next = makeWorker({ work: async () => ({ second: true }) });
      await next.start();
      await until('the released task to complete', async () => (await statusOf(released.taskId)) === 'COMPLETED');
    });

    full('gives back a task whose handler ignores the abort at shutdown, and never reports it', async () => {
      const g = gate({ ignoreAbort: true });
      const worker = makeWorker({ work: g.handler });
      await worker.start();
      const { task } = await registry.register({ kind: 'work' });
      await until('a start', () => g.runs.length === 1);
      expect(await worker.stop({ graceMs: 0 })).toEqual({ finished: 0, released: 1 });
      g.runs[0]!.finish({ too: 'late' });
      await until('the handler to settle', () => worker.stats.running === 0);
      expect(await registry.get(task.taskId)).toMatchObject({ status: 'PENDING', result: null });
      expect(await registry.lateReports(task.taskId)).toEqual([]);
      expect(worker.stats).toMatchObject({ completed: 0, failed: 0 });
    });

    it('sends a result again through a store outage instead of dropping it', async () => {
      const flaky = failingFirst(registry, ['complete', 'completeAndClaim'], 3);
      const worker = makeWorker({ work: async () => ({ ok: 1 }) }, {}, { registry: flaky.registry });
      await worker.start();
      const { task } = await registry.register({ kind: 'work' });
      // Each refused try waits its backoff on the clock before the next one.
      for (let seen = 0; flaky.state.failures < 3; ) {
        await until('another refused report', () => flaky.state.failures > seen);
        seen = flaky.state.failures;
        expect(await statusOf(task.taskId)).toBe('RUNNING');
        await clock.advance(5_000);
      }
      await until('the result to land', async () => (await statusOf(task.taskId)) === 'COMPLETED');
      await worker.whenIdle();
      expect(worker.stats).toMatchObject({ completed: 1, lost: 0 });
      expect((await registry.get(task.taskId)).result).toEqual({ ok: 1 });
    });

    full('returns tasks of dead workers to the queue when it sweeps', async () => {
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

    full('claims only the kinds it has handlers for', async () => {
      const worker = makeWorker({ mine: async () => 'ok' });
      await worker.start();
      const [mine, theirs] = await registry.registerMany([{ kind: 'mine' }, { kind: 'theirs' }]);
      await until('its task to complete', async () => (await statusOf(mine!.task.taskId)) === 'COMPLETED');
      await worker.whenIdle();
      await clock.advance(5_000);
      await worker.whenIdle();
      expect(await statusOf(theirs!.task.taskId)).toBe('PENDING');
    });
  });
}

workerSuite(
  {
    name: 'PGlite',
    open: async (nowMs) => (await openStore({ dataDir: ':memory:', schema: 'orchestra' }, nowMs)).db,
    close: (db) => db.close(),
  },
  'all',
);

workerSuite(
  {
    name: 'PostgreSQL',
    open: (nowMs) => openStore({ databaseUrl: DATABASE_URL, schema: uniqueName('t') }, nowMs).then((s) => s.db),
    close: async (db) => {
      await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
      await db.close();
    },
  },
  'core',
);

describe('task worker on PGlite, edge cases', () => {
  let db: Db;
  let clock: ManualClock;
  let registry: TaskRegistry;

  beforeAll(async () => {
    clock = new ManualClock(START_MS);
    db = (await openStore({ dataDir: ':memory:', schema: 'orchestra' }, clock.now())).db;
    registry = new TaskRegistry({ db, clock, rng: createRng(1), config: { leaseMs: LEASE_MS } });
  });

  afterAll(async () => {
    await db.close();
  });

  it('survives an event listener that throws', async () => {
    const worker = new TaskWorker({ registry, clock, handlers: { listened: async () => 1 }, config: { sweepIntervalMs: 0 } });
    worker.on('task_started', () => {
      throw new Error('listener bug');
    });
    await worker.start();
    const { task } = await registry.register({ kind: 'listened' });
    await clock.advance(1_000); // no bus here: the poll finds it
    await until('completion', async () => (await registry.get(task.taskId)).status === 'COMPLETED');
    await worker.stop();
  });

  it('fails a task for good when its result cannot be encoded as JSON', async () => {
    const worker = new TaskWorker({ registry, clock, handlers: { bigint: async () => ({ n: 1n }) as never }, config: { sweepIntervalMs: 0 } });
    await worker.start();
    const { task } = await registry.register({ kind: 'bigint' });
    await clock.advance(1_000);
    const failed = await until('the failure', async () => {
      const t = await registry.get(task.taskId);
      return t.status === 'FAILED' && t;
    });
    expect(failed.error).toMatchObject({ code: 'ORC_WORKER_HANDLER_FAILED', retryable: false });
    expect(failed.error?.message).toContain('JSON');
    await worker.stop();
  });

  it('gives a handler that reads its signal only after the run timeout the signal aborted with the timeout, and one that listens the abort event', async () => {
    const contexts = new Map<string, TaskContext>();
    const heard: unknown[] = [];
    const handler: TaskHandler = (task, context) => {
      contexts.set(task.taskId, context);
      if ((task.payload as { listen?: boolean }).listen) context.signal.addEventListener('abort', () => heard.push(context.signal.reason), { once: true });
      return new Promise<never>(() => undefined);
    };
    const worker = new TaskWorker({ registry, clock, handlers: { hang: handler }, config: { sweepIntervalMs: 0, concurrency: 2, runTimeoutMs: 5_000 } });
    const failed: string[] = [];
    worker.on('task_failed', (task) => void failed.push(task.taskId));
    await worker.start();
    const [late, listening] = await registry.registerMany([
      { kind: 'hang', maxAttempts: 1, payload: { listen: false } },
      { kind: 'hang', maxAttempts: 1, payload: { listen: true } },
    ]);
    await clock.advance(1_000);
    await until('both started', () => contexts.size === 2);
    await clock.advance(5_000);
    await until('both timed out', () => failed.length === 2);
    const signal = contexts.get(late!.task.taskId)!.signal;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ code: 'ORC_WORKER_RUN_TIMEOUT' });
    expect(contexts.get(late!.task.taskId)!.signal).toBe(signal);
    expect(heard).toEqual([expect.objectContaining({ code: 'ORC_WORKER_RUN_TIMEOUT', message: expect.stringContaining(listening!.task.taskId) })]);
    await worker.stop({ graceMs: 0 });
  });

  it('can be stopped before it starts, and then never starts', async () => {
    const worker = new TaskWorker({ registry, clock, handlers: { idle: async () => null } });
    expect(await worker.stop()).toEqual({ finished: 0, released: 0 });
    await worker.start();
    await worker.whenIdle();
    expect(worker.stats.claimed).toBe(0);
  });

  it('refuses handlers and settings it could never honour', () => {
    const make = (handlers: Record<string, TaskHandler>, config?: WorkerOptions) => () => new TaskWorker({ registry, clock, handlers, config });
    const ok: TaskHandler = async () => null;
    expect(make({})).toThrow(expect.objectContaining({ code: 'ORC_WORKER_NO_HANDLER' }));
    expect(make({ 'Not A Kind': ok })).toThrow(expect.objectContaining({ code: 'ORC_CONFIG_INVALID', message: expect.stringContaining('Not A Kind') }));
    expect(make({ a: ok }, { renewEveryMs: LEASE_MS })).toThrow(expect.objectContaining({ code: 'ORC_CONFIG_INVALID', message: expect.stringContaining('renewEveryMs') }));
    expect(make({ a: ok }, { concurrency: 0 })).toThrow(expect.objectContaining({ code: 'ORC_CONFIG_INVALID', message: expect.stringContaining('concurrency') }));
    expect(make({ a: ok }, { pollMs: 5 } as WorkerOptions)).toThrow(expect.objectContaining({ code: 'ORC_CONFIG_INVALID', message: expect.stringContaining('pollMs') }));
  });

  it('takes its lease and renewal period from the registry unless told otherwise', () => {
    const worker = new TaskWorker({ registry, clock, handlers: { a: async () => null } });
    expect(worker.config).toMatchObject({ concurrency: 4, pollIntervalMs: 1_000, leaseMs: LEASE_MS, renewEveryMs: LEASE_MS / 3, shutdownGraceMs: 10_000 });
    expect(worker.workerId).toMatch(/^.+-\d+-[0-9a-f]{6}$/);
    const own = new TaskWorker({ registry, clock, handlers: { a: async () => null }, config: { leaseMs: 9_000 } });
    expect(own.config).toMatchObject({ leaseMs: 9_000, renewEveryMs: 3_000 });
  });
});
