import { describe, it, expect, beforeEach, afterEach, afterAll } from 'vitest';
import { ManualClock, createRng, type Message } from '../../src/protocol/index.js';
import type { Db } from '../../src/store/index.js';
import { migrate } from '../../src/store/index.js';
import { TaskRegistry, type RegistryOptions } from '../../src/registry/index.js';
import { CANCELLED_TOPIC, taskTopic } from '../../src/protocol/index.js';
import { createMemoryBus } from '../../src/bus/index.js';

export interface RegistryBackend {
  /** A fresh, empty database (its own schema or instance). */
  open(): Promise<Db>;
  /** Called after each test with the database `open` returned. */
  dispose(db: Db): Promise<void>;
  /** Called once after the whole suite. */
  closeAll?(): Promise<void>;
}

const LEASE_MS = 30_000;
const config: RegistryOptions = { leaseMs: LEASE_MS, maxAttempts: 3, backoffBaseMs: 1_000, backoffMaxMs: 60_000 };

/** The behaviour every store backend must give the registry, run unchanged on each. */
export function registryContract(name: string, backend: RegistryBackend): void {
  describe(`task registry on ${name}`, () => {
    let db: Db;
    let clock: ManualClock;
    let registry: TaskRegistry;

    beforeEach(async () => {
      clock = new ManualClock(Date.UTC(2026, 0, 1));
      db = await backend.open();
      await migrate(db, clock.now());
      registry = new TaskRegistry({ db, clock, rng: createRng(7), config });
    });

    afterEach(async () => {
      await backend.dispose(db);
    });

    afterAll(async () => {
      await backend.closeAll?.();
    });

    const claimOne = async (kind = 'work', workerId = 'w1') => {
      const [task] = await registry.claim({ kinds: [kind], workerId, limit: 1 });
      return task;
    };

    describe('register', () => {
      it('stores a pending task with defaults and the clock time', async () => {
        const { task, created } = await registry.register({ kind: 'work', payload: { n: 1 } });
        expect(created).toBe(true);
        expect(task).toMatchObject({ status: 'PENDING', kind: 'work', payload: { n: 1 }, priority: 5, attempt: 0, dependsOn: [] });
        expect(task.createdAt).toBe(clock.now());
        expect(await registry.get(task.taskId)).toEqual(task);
      });

      it('returns the existing task for a known idempotency key and creates nothing', async () => {
        const first = await registry.register({ kind: 'work', payload: { a: 1, b: [true, null] }, idempotencyKey: 'order-17' });
        const again = await registry.register({ kind: 'work', payload: { b: [true, null], a: 1 }, idempotencyKey: 'order-17', priority: 2 });
        expect(again.created).toBe(false);
        expect(again.task.taskId).toBe(first.task.taskId);
        expect((await registry.counts()).total).toBe(1);
      });

      it('refuses a known idempotency key given with another kind or payload, naming the key', async () => {
        const { task } = await registry.register({ kind: 'work', payload: { n: 1 }, idempotencyKey: 'order-18' });
        await expect(registry.register({ kind: 'work', payload: { n: 2 }, idempotencyKey: 'order-18' })).rejects.toMatchObject({
          code: 'ORC_REGISTRY_IDEMPOTENCY_CONFLICT',
          message: `idempotency key order-18 already names task ${task.taskId}, which has another payload; use another key for different work`,
        });
        await expect(registry.register({ kind: 'other', payload: { n: 1 }, idempotencyKey: 'order-18' })).rejects.toMatchObject({
          code: 'ORC_REGISTRY_IDEMPOTENCY_CONFLICT',
          message: expect.stringContaining('which has another kind'),
        });
        await expect(
          registry.registerMany([
            { kind: 'work', idempotencyKey: 'k2' },
            { kind: 'work', payload: { different: true }, idempotencyKey: 'k2' },
          ]),
        ).rejects.toMatchObject({ code: 'ORC_REGISTRY_IDEMPOTENCY_CONFLICT', message: expect.stringContaining('idempotency key k2') });
        expect((await registry.counts()).total).toBe(1);
      });

      it('resolves a key repeated inside one bulk registration to one task', async () => {
        const regs = await registry.registerMany([
          { kind: 'work', idempotencyKey: 'k' },
          { kind: 'work', idempotencyKey: 'k' },
        ]);
        expect(regs.map((r) => r.created)).toEqual([true, false]);
        expect(regs[1]!.task.taskId).toBe(regs[0]!.task.taskId);
        expect((await registry.counts()).total).toBe(1);
      });

      it('registers a bulk atomically: one bad task leaves nothing behind', async () => {
        await expect(
          registry.registerMany([{ kind: 'work' }, { kind: 'work' }, { kind: 'work', dependsOn: ['no-such-task'] }]),
        ).rejects.toMatchObject({ code: 'ORC_REGISTRY_UNKNOWN_DEPENDENCY' });
        expect((await registry.counts()).total).toBe(0);
      });

      it('names the task and field of an invalid body in a bulk', async () => {
        const err = await registry.registerMany([{ kind: 'work' }, { kind: 'work', priority: 11 }]).catch((e) => e);
        expect(err).toMatchObject({ code: 'ORC_PROTOCOL_OUT_OF_RANGE' });
        expect(err.message).toContain('task 2 of 2');
        expect(err.message).toContain('priority');
        expect((await registry.counts()).total).toBe(0);
      });

      it('refuses a caller-chosen id that already exists', async () => {
        await registry.register({ kind: 'work', taskId: 'fixed' });
        await expect(registry.register({ kind: 'work', taskId: 'fixed' })).rejects.toMatchObject({
          code: 'ORC_REGISTRY_DUPLICATE_TASK_ID',
        });
      });

      it('publishes a wake-up on the kind topic after the commit', async () => {
        const bus = createMemoryBus({ clock });
        const woken: Message[] = [];
        await bus.subscribe({ topic: taskTopic('work') }, async (m) => {
          // The registry commits before it notifies (invariant 1): the task is there to read.
          expect((await registry.counts()).byStatus.PENDING).toBeGreaterThan(0);
          woken.push(m);
        });
        const notifying = new TaskRegistry({ db, clock, rng: createRng(1), bus, config });
        await notifying.register({ kind: 'work' });
        await notifying.register({ kind: 'other' });
        await clock.advance(0);
        expect(woken.map((m) => m.data)).toEqual([{ kind: 'work' }]);
        await bus.close();
      });
    });

    describe('claim', () => {
      it('claims a priority-1 task registered behind 1,000 priority-8 tasks first', async () => {
        await registry.registerMany(Array.from({ length: 1000 }, (_, i) => ({ kind: 'work', priority: 8, payload: { i } })));
        const urgent = await registry.register({ kind: 'work', priority: 1 });
        expect((await claimOne())!.taskId).toBe(urgent.task.taskId);
        expect((await claimOne())!.payload).toEqual({ i: 0 });
      });

      it('claims in registration order within a priority', async () => {
        for (let i = 0; i < 5; i++) await registry.register({ kind: 'work', payload: { i }, priority: 3 });
        await registry.register({ kind: 'work', payload: { i: 'late-urgent' }, priority: 2 });
        const claimed = await registry.claim({ kinds: ['work'], workerId: 'w', limit: 10 });
        expect(claimed.map((t) => (t.payload as { i: unknown }).i)).toEqual(['late-urgent', 0, 1, 2, 3, 4]);
      });

      it('claims only the kinds asked for, up to the limit, with a lease', async () => {
        await registry.registerMany([{ kind: 'a' }, { kind: 'a' }, { kind: 'a' }, { kind: 'b' }]);
        const claimed = await registry.claim({ kinds: ['a'], workerId: 'w9', limit: 2 });
        expect(claimed).toHaveLength(2);
        for (const t of claimed) {
          expect(t).toMatchObject({ status: 'RUNNING', kind: 'a', workerId: 'w9', attempt: 1, leaseExpiresAt: clock.now() + LEASE_MS });
        }
        const counts = await registry.counts();
        expect(counts.byStatus).toMatchObject({ RUNNING: 2, PENDING: 2 });
      });

      it('does not claim a task before its runAt', async () => {
        await registry.register({ kind: 'work', runAt: clock.now() + 5_000 });
        expect(await claimOne()).toBeUndefined();
        await clock.advance(5_000);
        expect(await claimOne()).toBeDefined();
      });
    });

    describe('results and fencing', () => {
      it('accepts the result of the attempt holding the lease', async () => {
        const { task } = await registry.register({ kind: 'work' });
        const claimed = (await claimOne())!;
        const outcome = await registry.complete({ taskId: task.taskId, attempt: claimed.attempt, workerId: 'w1', result: { ok: 1 } });
        expect(outcome).toEqual({ taskId: task.taskId, accepted: true, status: 'COMPLETED' });
        expect(await registry.get(task.taskId)).toMatchObject({ status: 'COMPLETED', result: { ok: 1 }, leaseExpiresAt: null });
      });

      it('keeps a report from an expired attempt for the record and changes nothing', async () => {
        const { task } = await registry.register({ kind: 'work' });
        const first = (await claimOne('work', 'slow'))!;
        await clock.advance(LEASE_MS + 1);
        expect((await registry.sweep()).requeued).toEqual([task.taskId]);
        const second = (await claimOne('work', 'fast'))!;
        expect(second.attempt).toBe(2);
        expect(await registry.complete({ taskId: task.taskId, attempt: 2, workerId: 'fast', result: 'second' })).toMatchObject({
          accepted: true,
        });
        const late = await registry.complete({ taskId: task.taskId, attempt: first.attempt, workerId: 'slow', result: 'first' });
        expect(late).toMatchObject({ accepted: false, status: null });
        expect(await registry.get(task.taskId)).toMatchObject({ status: 'COMPLETED', result: 'second', workerId: 'fast' });
        const reports = await registry.lateReports(task.taskId);
        expect(reports).toHaveLength(1);
        expect(reports[0]).toMatchObject({ attempt: 1, worker_id: 'slow', outcome: 'completed', result: 'first' });
      });

      it('refuses a second completion of the same attempt', async () => {
        const { task } = await registry.register({ kind: 'work' });
        await claimOne();
        await registry.complete({ taskId: task.taskId, attempt: 1, result: 1 });
        expect((await registry.complete({ taskId: task.taskId, attempt: 1, result: 2 })).accepted).toBe(false);
        expect((await registry.get(task.taskId)).result).toBe(1);
      });

      it('completes a batch in one call, accepting only held leases', async () => {
        await registry.registerMany(Array.from({ length: 5 }, () => ({ kind: 'work' })));
        const claimed = await registry.claim({ kinds: ['work'], workerId: 'w', limit: 5 });
        const outcomes = await registry.completeMany([
          ...claimed.map((t) => ({ taskId: t.taskId, attempt: t.attempt, result: t.taskId })),
          { taskId: claimed[0]!.taskId, attempt: 99, result: 'forged' },
        ]);
        expect(outcomes.filter((o) => o.accepted)).toHaveLength(5);
        expect(outcomes.filter((o) => !o.accepted)).toHaveLength(1);
        expect((await registry.counts()).byStatus.COMPLETED).toBe(5);
      });
    });

    describe('values the store cannot keep', () => {
      it('refuses a payload holding U+0000 or a lone surrogate, naming the field', async () => {
        await expect(registry.register({ kind: 'work', payload: { note: 'a\u0000b' } })).rejects.toMatchObject({
          code: 'ORC_PROTOCOL_UNSTORABLE_TEXT',
          message: 'invalid task: payload.note: holds U+0000, which the store cannot keep',
        });
        await expect(registry.register({ kind: 'work', payload: { list: ['ok', { ['k\udc00']: 1 }] } })).rejects.toMatchObject({
          code: 'ORC_PROTOCOL_UNSTORABLE_TEXT',
          message: expect.stringContaining('payload.list.1.k\udc00: key'),
        });
        await expect(registry.register({ kind: 'work', idempotencyKey: 'k\u0000' })).rejects.toMatchObject({ code: 'ORC_PROTOCOL_UNSTORABLE_TEXT' });
        expect((await registry.counts()).total).toBe(0);
      });

      it('fails an attempt whose result holds U+0000 or a lone surrogate, for good, and stores that failure', async () => {
        const [a, b] = await registry.registerMany([{ kind: 'work' }, { kind: 'work' }]);
        await registry.claim({ kinds: ['work'], workerId: 'w1', limit: 2 });
        const outcomes = await registry.completeMany([
          { taskId: a!.task.taskId, attempt: 1, workerId: 'w1', result: { out: 'bin\u0000ary' } },
          { taskId: b!.task.taskId, attempt: 1, workerId: 'w1', result: { out: 'fine' } },
        ]);
        expect(outcomes).toEqual([
          {
            taskId: a!.task.taskId,
            accepted: true,
            status: 'FAILED',
            refused: { code: 'ORC_PROTOCOL_UNSTORABLE_TEXT', message: 'result.out: holds U+0000, which the store cannot keep' },
          },
          { taskId: b!.task.taskId, accepted: true, status: 'COMPLETED' },
        ]);
        expect(await registry.get(a!.task.taskId)).toMatchObject({
          status: 'FAILED',
          result: null,
          error: { code: 'ORC_PROTOCOL_UNSTORABLE_TEXT', retryable: false, attempt: 1, details: { field: 'result.out' } },
        });
        expect(await registry.get(b!.task.taskId)).toMatchObject({ status: 'COMPLETED', result: { out: 'fine' } });
      });

      it('refuses an unstorable result reported together with a claim, and still claims', async () => {
        const { task } = await registry.register({ kind: 'work', taskId: 'lone' });
        await registry.register({ kind: 'work', taskId: 'next' });
        await claimOne();
        const { outcomes, claimed } = await registry.completeAndClaim([{ taskId: task.taskId, attempt: 1, workerId: 'w1', result: ['\ud800'] }], {
          kinds: ['work'],
          workerId: 'w1',
          limit: 1,
        });
        expect(outcomes).toEqual([expect.objectContaining({ accepted: true, status: 'FAILED', refused: expect.objectContaining({ code: 'ORC_PROTOCOL_UNSTORABLE_TEXT' }) })]);
        expect(claimed.map((t) => t.taskId)).toEqual(['next']);
        expect((await registry.get('lone')).error).toMatchObject({ code: 'ORC_PROTOCOL_UNSTORABLE_TEXT', message: expect.stringContaining('lone surrogate (U+D800)') });
      });

      it('stores a failure whose message or details hold such characters, with them replaced', async () => {
        const { task } = await registry.register({ kind: 'work', maxAttempts: 1 });
        await claimOne();
        const outcome = await registry.fail({
          taskId: task.taskId,
          attempt: 1,
          error: { code: 'ORC_WORKER_COMMAND_EXIT', message: 'exit 1: \u0000', details: { stderr: 'bad\u0000\udc00 bytes' } },
        });
        expect(outcome).toMatchObject({ accepted: true, status: 'FAILED' });
        expect((await registry.get(task.taskId)).error).toMatchObject({ message: 'exit 1: \ufffd', details: { stderr: 'bad\ufffd\ufffd bytes' } });
      });

      it('fails an attempt whose result is larger than maxResultBytes, naming the field', async () => {
        const small = new TaskRegistry({ db, clock, rng: createRng(7), config: { ...config, maxResultBytes: 1000 } });
        const { task } = await small.register({ kind: 'work' });
        await claimOne();
        const outcome = await small.complete({ taskId: task.taskId, attempt: 1, result: { text: 'x'.repeat(1000) } });
        expect(outcome).toMatchObject({ accepted: true, status: 'FAILED', refused: { code: 'ORC_PROTOCOL_TOO_LARGE' } });
        expect((await small.get(task.taskId)).error).toMatchObject({
          code: 'ORC_PROTOCOL_TOO_LARGE',
          message: 'result: 1011 bytes encoded, more than registry.maxResultBytes (1000)',
          retryable: false,
          details: { field: 'result', bytes: 1011, limit: 1000 },
        });
      });

      it('lists tasks without their large results, which reading the task gives whole', async () => {
        const big = { text: 'y'.repeat(100_000) };
        const [a, b] = await registry.registerMany([{ kind: 'work' }, { kind: 'work' }]);
        await registry.claim({ kinds: ['work'], workerId: 'w1', limit: 2 });
        await registry.completeMany([
          { taskId: a!.task.taskId, attempt: 1, result: big },
          { taskId: b!.task.taskId, attempt: 1, result: { small: true } },
        ]);
        const listed = new Map((await registry.list()).map((t) => [t.taskId, t]));
        expect(listed.get(a!.task.taskId)).toMatchObject({ status: 'COMPLETED', result: null, resultOmitted: true });
        expect(listed.get(b!.task.taskId)).toMatchObject({ result: { small: true } });
        expect(listed.get(b!.task.taskId)).not.toHaveProperty('resultOmitted');
        expect((await registry.get(a!.task.taskId)).result).toEqual(big);
      });
    });

    describe('complete and claim in one call', () => {
      it('reports the finished attempt and claims the next tasks, most urgent first', async () => {
        await registry.registerMany([
          { kind: 'work', taskId: 'first', priority: 1 },
          { kind: 'work', taskId: 'low', priority: 9 },
          { kind: 'work', taskId: 'high', priority: 2 },
          { kind: 'work', taskId: 'left', priority: 9 },
        ]);
        const first = (await claimOne())!;
        const { outcomes, claimed } = await registry.completeAndClaim(
          [{ taskId: first.taskId, attempt: first.attempt, workerId: 'w1', result: { done: 1 } }],
          { kinds: ['work'], workerId: 'w1', limit: 2 },
        );
        expect(outcomes).toEqual([{ taskId: 'first', accepted: true, status: 'COMPLETED' }]);
        expect(claimed.map((t) => t.taskId)).toEqual(['high', 'low']);
        expect(claimed[0]).toMatchObject({ status: 'RUNNING', workerId: 'w1', attempt: 1, leaseExpiresAt: clock.now() + LEASE_MS });
        expect(await registry.get('first')).toMatchObject({ status: 'COMPLETED', result: { done: 1 } });
        expect((await registry.counts()).byStatus).toMatchObject({ COMPLETED: 1, RUNNING: 2, PENDING: 1 });
      });

      it('keeps a stale report as late and still claims', async () => {
        await registry.registerMany([{ kind: 'work', taskId: 'a' }, { kind: 'work', taskId: 'b' }]);
        const { outcomes, claimed } = await registry.completeAndClaim([{ taskId: 'a', attempt: 7, result: 'forged' }], {
          kinds: ['work'],
          workerId: 'w1',
          limit: 5,
        });
        expect(outcomes).toEqual([{ taskId: 'a', accepted: false, status: null }]);
        expect(claimed.map((t) => t.taskId)).toEqual(['a', 'b']);
        expect(await registry.lateReports('a')).toHaveLength(1);
      });

      it('leaves a dependent it unblocks to the next claim', async () => {
        await registry.registerMany([
          { kind: 'work', taskId: 'parent' },
          { kind: 'work', taskId: 'child', dependsOn: ['parent'] },
        ]);
        const parent = (await claimOne())!;
        const { claimed } = await registry.completeAndClaim([{ taskId: 'parent', attempt: parent.attempt }], {
          kinds: ['work'],
          workerId: 'w1',
          limit: 5,
        });
        expect(claimed).toEqual([]);
        expect((await claimOne())?.taskId).toBe('child');
      });
    });

    describe('retries', () => {
      it('retries with exponential backoff, then fails with the last error', async () => {
        const { task } = await registry.register({ kind: 'work' });
        const delays: number[] = [];
        for (let attempt = 1; attempt <= 3; attempt++) {
          const claimed = await claimOne();
          expect(claimed?.attempt).toBe(attempt);
          const failedAt = clock.now();
          const outcome = await registry.fail({ taskId: task.taskId, attempt, error: { code: 'E_FLAKY', message: `boom ${attempt}` } });
          const after = await registry.get(task.taskId);
          if (attempt < 3) {
            expect(outcome.status).toBe('PENDING');
            delays.push(after.runAt - failedAt);
            expect(await claimOne()).toBeUndefined(); // still backing off
            await clock.advance(after.runAt - failedAt);
          } else {
            expect(outcome.status).toBe('FAILED');
            expect(after.error).toMatchObject({ code: 'E_FLAKY', message: 'boom 3', attempt: 3 });
          }
        }
        // Doubling from 1 s with jitter in [50 %, 100 %].
        expect(delays[0]).toBeGreaterThanOrEqual(500);
        expect(delays[0]).toBeLessThanOrEqual(1_000);
        expect(delays[1]).toBeGreaterThanOrEqual(1_000);
        expect(delays[1]).toBeLessThanOrEqual(2_000);
      });

      it('fails at once on an error marked non-retryable', async () => {
        const { task } = await registry.register({ kind: 'work' });
        await claimOne();
        const outcome = await registry.fail({ taskId: task.taskId, attempt: 1, error: { code: 'E_BAD_INPUT', message: 'no', retryable: false } });
        expect(outcome.status).toBe('FAILED');
        expect((await registry.get(task.taskId)).error).toMatchObject({ code: 'E_BAD_INPUT', retryable: false });
      });

      it('honours a per-task attempt limit', async () => {
        const { task } = await registry.register({ kind: 'work', maxAttempts: 1 });
        await claimOne();
        expect((await registry.fail({ taskId: task.taskId, attempt: 1, error: { code: 'E', message: 'x' } })).status).toBe('FAILED');
      });
    });

    describe('leases', () => {
      it('renews the leases still held and reports the lost ones', async () => {
        const { task } = await registry.register({ kind: 'work' });
        const claimed = (await claimOne())!;
        await clock.advance(LEASE_MS - 1);
        expect(await registry.renew([{ taskId: task.taskId, attempt: claimed.attempt }, { taskId: 'gone', attempt: 1 }])).toEqual(['gone']);
        await clock.advance(LEASE_MS - 1);
        expect((await registry.sweep()).requeued).toEqual([]);
        expect((await registry.get(task.taskId)).leaseExpiresAt).toBe(clock.now() + 1);
      });

      it('sweeps an expired lease back to PENDING with a timeout error', async () => {
        const { task } = await registry.register({ kind: 'work' });
        await claimOne();
        await clock.advance(LEASE_MS + 1);
        expect(await registry.sweep()).toEqual({ requeued: [task.taskId], failed: [] });
        const after = await registry.get(task.taskId);
        expect(after).toMatchObject({ status: 'PENDING', workerId: null, leaseExpiresAt: null });
        expect(after.error).toMatchObject({ code: 'ORC_REGISTRY_TIMEOUT', attempt: 1 });
      });

      it('fails a task with Timeout when its last attempt expires', async () => {
        const { task } = await registry.register({ kind: 'work', maxAttempts: 1 });
        await claimOne();
        await clock.advance(LEASE_MS + 1);
        expect(await registry.sweep()).toEqual({ requeued: [], failed: [task.taskId] });
        expect((await registry.get(task.taskId)).error).toMatchObject({ code: 'ORC_REGISTRY_TIMEOUT' });
      });

      it('expires a dead worker\'s leases at once, sweeping its tasks by the usual rule', async () => {
        const { task } = await registry.register({ kind: 'work' });
        const { task: last } = await registry.register({ kind: 'work', maxAttempts: 1 });
        const { task: other } = await registry.register({ kind: 'work' });
        const [a, b] = await registry.claim({ kinds: ['work'], workerId: 'dead', limit: 2 });
        await claimOne('work', 'alive');
        const report = await registry.expire([
          { taskId: a!.taskId, attempt: a!.attempt },
          { taskId: b!.taskId, attempt: b!.attempt },
          { taskId: other.taskId, attempt: 7 },
        ]);
        expect(report).toEqual({ requeued: [task.taskId], failed: [last.taskId] });
        expect(await registry.get(task.taskId)).toMatchObject({ status: 'PENDING', error: { code: 'ORC_REGISTRY_TIMEOUT' } });
        expect(await registry.get(other.taskId)).toMatchObject({ status: 'RUNNING', workerId: 'alive' });
        expect(await registry.expire([{ taskId: other.taskId, attempt: 7 }])).toEqual({ requeued: [], failed: [] });
      });

      it('keeps a task\'s own run timeout, and counts the attempts that failed for running too long', async () => {
        const { task } = await registry.register({ kind: 'work', timeoutMs: 5_000 });
        expect(task.timeoutMs).toBe(5_000);
        expect((await registry.register({ kind: 'other' })).task.timeoutMs).toBeNull();
        await claimOne();
        await registry.fail({ taskId: task.taskId, attempt: 1, error: { code: 'ORC_WORKER_RUN_TIMEOUT', message: 'too long' } });
        await clock.advance(60_000);
        await claimOne();
        await registry.fail({ taskId: task.taskId, attempt: 2, error: { code: 'E', message: 'other' } });
        expect(await registry.timedOutAttempts()).toBe(1);
        expect((await registry.get(task.taskId)).timeoutMs).toBe(5_000);
      });

      it('releases a task without spending an attempt', async () => {
        const { task } = await registry.register({ kind: 'work', maxAttempts: 1 });
        const claimed = (await claimOne())!;
        expect(await registry.release([{ taskId: task.taskId, attempt: claimed.attempt }])).toEqual([task.taskId]);
        const again = (await claimOne())!;
        expect(again.attempt).toBe(2);
        // Still one attempt to spend: a failure now is final, not earlier.
        expect((await registry.fail({ taskId: task.taskId, attempt: 2, error: { code: 'E', message: 'x' } })).status).toBe('FAILED');
      });
    });

    describe('cancel and retry', () => {
      it('cancels a pending task', async () => {
        const { task } = await registry.register({ kind: 'work' });
        expect(await registry.cancel(task.taskId, 'not needed')).toMatchObject({
          status: 'CANCELLED',
          error: { code: 'ORC_REGISTRY_CANCELLED', message: 'not needed' },
        });
        expect(await claimOne()).toBeUndefined();
      });

      it('cancels a running task: its worker hears of it and its report changes nothing', async () => {
        const bus = createMemoryBus({ clock });
        const notices: Message[] = [];
        await bus.subscribe({ topic: CANCELLED_TOPIC }, (m) => void notices.push(m));
        const withBus = new TaskRegistry({ db, clock, rng: createRng(1), bus, config });
        const { task } = await withBus.register({ kind: 'work' });
        const claimed = (await claimOne())!;
        await withBus.cancel(task.taskId);
        await clock.advance(0);
        expect(notices.map((m) => m.data)).toEqual([
          { taskId: task.taskId, attempt: 1, workerId: 'w1', reason: 'cancelled by request' },
        ]);
        expect(await withBus.renew([{ taskId: task.taskId, attempt: claimed.attempt }])).toEqual([task.taskId]);
        expect((await withBus.complete({ taskId: task.taskId, attempt: 1, result: 'too late' })).accepted).toBe(false);
        expect((await withBus.get(task.taskId)).status).toBe('CANCELLED');
        await bus.close();
      });

      it('refuses to cancel a finished task', async () => {
        const { task } = await registry.register({ kind: 'work' });
        await claimOne();
        await registry.complete({ taskId: task.taskId, attempt: 1 });
        await expect(registry.cancel(task.taskId)).rejects.toMatchObject({ code: 'ORC_REGISTRY_INVALID_TRANSITION' });
        await expect(registry.cancel('missing')).rejects.toMatchObject({ code: 'ORC_REGISTRY_TASK_NOT_FOUND' });
      });

      it('redrives a failed task with a fresh attempt budget and keeps fencing old attempts', async () => {
        const { task } = await registry.register({ kind: 'work', maxAttempts: 1 });
        await claimOne();
        await registry.fail({ taskId: task.taskId, attempt: 1, error: { code: 'E', message: 'x' } });
        const [redriven] = await registry.retry(task.taskId);
        expect(redriven).toMatchObject({ status: 'PENDING', error: null, attempt: 1 });
        const claimed = (await claimOne())!;
        expect(claimed.attempt).toBe(2);
        expect((await registry.complete({ taskId: task.taskId, attempt: 1, result: 'stale' })).accepted).toBe(false);
        expect((await registry.complete({ taskId: task.taskId, attempt: 2, result: 'fresh' })).accepted).toBe(true);
      });

      it('refuses to retry a task that has not failed', async () => {
        const { task } = await registry.register({ kind: 'work' });
        await expect(registry.retry(task.taskId)).rejects.toMatchObject({ code: 'ORC_REGISTRY_INVALID_TRANSITION' });
        await expect(registry.retry('missing')).rejects.toMatchObject({ code: 'ORC_REGISTRY_TASK_NOT_FOUND' });
      });
    });

    describe('reassign', () => {
      it('moves pending and running tasks to another kind; the running attempt is fenced out and hears of it', async () => {
        const bus = createMemoryBus({ clock });
        const heard: Message[] = [];
        await bus.subscribe({ topic: CANCELLED_TOPIC }, (m) => void heard.push(m));
        const woken: Message[] = [];
        await bus.subscribe({ topic: taskTopic('bot.b') }, (m) => void woken.push(m));
        registry = new TaskRegistry({ db, clock, rng: createRng(7), bus, config });
        const [a, b] = await registry.registerMany([{ kind: 'bot.a' }, { kind: 'bot.a' }]);
        const running = (await claimOne('bot.a', 'bot-a'))!;
        expect(running.taskId).toBe(a!.task.taskId);

        const moved = await registry.reassign([a!.task.taskId, b!.task.taskId], 'bot.b', ['bot.a']);
        expect(moved.map((m) => [m.taskId, m.previousStatus]).sort()).toEqual(
          [[a!.task.taskId, 'RUNNING'], [b!.task.taskId, 'PENDING']].sort(),
        );
        expect((await registry.complete({ taskId: running.taskId, attempt: running.attempt, result: 'late' })).accepted).toBe(false);
        const takenOver = await registry.claim({ kinds: ['bot.b'], workerId: 'bot-b', limit: 5 });
        expect(takenOver.map((t) => t.taskId).sort()).toEqual([a!.task.taskId, b!.task.taskId].sort());
        // The attempt taken away is given back: the task keeps its full budget.
        expect(takenOver.find((t) => t.taskId === a!.task.taskId)!.maxAttempts).toBe(config.maxAttempts! + 1);
        await bus.close();
        expect(heard.map((m) => m.data)).toEqual([expect.objectContaining({ taskId: a!.task.taskId, attempt: 1 })]);
        expect(woken.length).toBeGreaterThan(0);
      });

      it('leaves finished tasks and tasks of other kinds alone, and counts unfinished tasks per kind', async () => {
        const [a, b] = await registry.registerMany([{ kind: 'bot.a' }, { kind: 'other' }]);
        const claimed = (await claimOne('bot.a'))!;
        await registry.complete({ taskId: claimed.taskId, attempt: claimed.attempt });
        expect(await registry.reassign([a!.task.taskId, b!.task.taskId], 'bot.b', ['bot.a'])).toEqual([]);
        await registry.registerMany([{ kind: 'bot.a' }, { kind: 'bot.a' }]);
        await claimOne('bot.a');
        const counts = await registry.unfinishedByKind(['bot.a', 'bot.b']);
        expect(Object.fromEntries(counts)).toEqual({ 'bot.a': { pending: 1, running: 1 }, 'bot.b': { pending: 0, running: 0 } });
      });
    });

    describe('dependencies', () => {
      it('makes a task claimable only when all its dependencies completed', async () => {
        const [a, b, c] = await registry.registerMany([
          { kind: 'research', taskId: 'a' },
          { kind: 'research', taskId: 'b' },
          { kind: 'write', taskId: 'c', dependsOn: ['a', 'b'] },
        ]);
        expect(c!.task.dependsOn).toEqual(['a', 'b']);
        const research = await registry.claim({ kinds: ['research'], workerId: 'r', limit: 2 });
        expect(await claimOne('write')).toBeUndefined();
        await registry.complete({ taskId: a!.task.taskId, attempt: research[0]!.attempt });
        expect(await claimOne('write')).toBeUndefined();
        await registry.complete({ taskId: b!.task.taskId, attempt: 1 });
        expect((await claimOne('write'))?.taskId).toBe('c');
      });

      it('fails dependents, transitively, naming the dependency that failed', async () => {
        await registry.registerMany([
          { kind: 'research', taskId: 'r', maxAttempts: 1 },
          { kind: 'write', taskId: 'w', dependsOn: ['r'] },
          { kind: 'publish', taskId: 'p', dependsOn: ['w'] },
        ]);
        await claimOne('research');
        await registry.fail({ taskId: 'r', attempt: 1, error: { code: 'E', message: 'no sources' } });
        expect(await registry.get('w')).toMatchObject({
          status: 'FAILED',
          error: { code: 'ORC_REGISTRY_DEPENDENCY_FAILED', message: 'dependency r failed', details: { dependency: 'r' } },
        });
        expect(await registry.get('p')).toMatchObject({ status: 'FAILED', error: { message: 'dependency w failed' } });
      });

      it('fails dependents of a cancelled task, and redrives them with it', async () => {
        await registry.registerMany([
          { kind: 'research', taskId: 'r' },
          { kind: 'write', taskId: 'w', dependsOn: ['r'] },
        ]);
        await registry.cancel('r');
        expect((await registry.get('w')).error?.message).toBe('dependency r was cancelled');
        const redriven = await registry.retry('r');
        expect(redriven.map((t) => t.taskId).sort()).toEqual(['r', 'w']);
        expect(await claimOne('write')).toBeUndefined(); // waits for r again
        await claimOne('research');
        await registry.complete({ taskId: 'r', attempt: 1 });
        expect((await claimOne('write'))?.taskId).toBe('w');
      });

      it('refuses a dependency cycle and unknown ids at registration', async () => {
        await expect(
          registry.registerMany([
            { kind: 'work', taskId: 'x', dependsOn: ['z'] },
            { kind: 'work', taskId: 'y', dependsOn: ['x'] },
            { kind: 'work', taskId: 'z', dependsOn: ['y'] },
          ]),
        ).rejects.toMatchObject({ code: 'ORC_REGISTRY_DEPENDENCY_CYCLE' });
        await expect(registry.register({ kind: 'work', dependsOn: ['ghost'] })).rejects.toMatchObject({
          code: 'ORC_REGISTRY_UNKNOWN_DEPENDENCY',
          message: expect.stringContaining('ghost'),
        });
        expect((await registry.counts()).total).toBe(0);
      });

      it('starts a task whose dependency already completed as claimable, and one whose dependency failed as failed', async () => {
        await registry.registerMany([{ kind: 'a', taskId: 'done' }, { kind: 'a', taskId: 'broken', maxAttempts: 1 }]);
        const claimed = await registry.claim({ kinds: ['a'], workerId: 'w', limit: 2 });
        await registry.complete({ taskId: 'done', attempt: claimed[0]!.attempt });
        await registry.fail({ taskId: 'broken', attempt: 1, error: { code: 'E', message: 'x' } });
        await registry.register({ kind: 'b', taskId: 'after-done', dependsOn: ['done'] });
        const afterBroken = await registry.register({ kind: 'b', taskId: 'after-broken', dependsOn: ['broken'] });
        expect(afterBroken.task).toMatchObject({ status: 'FAILED', error: { code: 'ORC_REGISTRY_DEPENDENCY_FAILED' } });
        expect((await claimOne('b'))?.taskId).toBe('after-done');
      });
    });

    describe('reading and pruning', () => {
      it('lists with filters and paging, newest first', async () => {
        await registry.registerMany(Array.from({ length: 7 }, (_, i) => ({ kind: i % 2 ? 'odd' : 'even', payload: { i } })));
        const odd = await registry.list({ kind: ['odd'] });
        expect(odd.map((t) => (t.payload as { i: number }).i)).toEqual([5, 3, 1]);
        const page = await registry.list({ limit: 2, offset: 2, order: 'asc' });
        expect(page.map((t) => (t.payload as { i: number }).i)).toEqual([2, 3]);
        await claimOne('odd');
        expect((await registry.list({ status: ['RUNNING'] })).map((t) => (t.payload as { i: number }).i)).toEqual([1]);
      });

      it('pages by cursor: tasks registered while a client pages neither repeat nor shift a page', async () => {
        await registry.registerMany(Array.from({ length: 5 }, (_, i) => ({ kind: 'w', payload: { i } })));
        const seen: number[] = [];
        let cursor: string | undefined;
        for (let page = 0; ; page++) {
          const { tasks, next } = await registry.page({ limit: 2, ...(cursor ? { cursor } : {}) });
          seen.push(...tasks.map((t) => (t.payload as { i: number }).i));
          // Newer tasks arrive between pages: newest first, they belong before the first page.
          await registry.register({ kind: 'w', payload: { i: 100 + page } });
          if (next === null) break;
          cursor = next;
        }
        expect(seen).toEqual([4, 3, 2, 1, 0]);
        const ascending = await registry.page({ limit: 3, order: 'asc', kind: ['w'] });
        expect(ascending.tasks.map((t) => (t.payload as { i: number }).i)).toEqual([0, 1, 2]);
        const rest = await registry.page({ limit: 3, order: 'asc', kind: ['w'], cursor: ascending.next! });
        expect(rest.tasks.map((t) => (t.payload as { i: number }).i)).toEqual([3, 4, 100]);
        await expect(registry.page({ cursor: 'page-2' })).rejects.toThrow(/cursor/);
      });

      it('counts tasks by status and priority', async () => {
        await registry.registerMany([{ kind: 'w', priority: 1 }, { kind: 'w', priority: 1 }, { kind: 'w', priority: 9 }]);
        await claimOne('w');
        const counts = await registry.counts();
        expect(counts.total).toBe(3);
        expect(counts.byStatus).toEqual({ PENDING: 2, RUNNING: 1, COMPLETED: 0, FAILED: 0, CANCELLED: 0 });
        expect(counts.byPriority[1]).toBe(2);
        expect(counts.byPriority[9]).toBe(1);
        expect(counts.cells).toContainEqual({ status: 'RUNNING', priority: 1, count: 1 });
      });

      it('prunes finished tasks older than the cutoff and nothing else', async () => {
        await registry.registerMany([{ kind: 'w', taskId: 'old' }, { kind: 'w', taskId: 'waiting' }]);
        const [old] = await registry.claim({ kinds: ['w'], workerId: 'w', limit: 1 });
        await registry.complete({ taskId: old!.taskId, attempt: 1 });
        await clock.advance(10_000);
        await registry.register({ kind: 'w', taskId: 'recent' });
        await claimOne('w');
        await registry.complete({ taskId: 'waiting', attempt: 1 });
        expect(await registry.prune(5_000)).toBe(1);
        expect(await registry.find('old')).toBeNull();
        expect(await registry.find('waiting')).not.toBeNull();
        expect(await registry.find('recent')).not.toBeNull();
      });
    });

    describe('concurrency', () => {
      it('never hands one task to two claimers at once', async () => {
        await registry.registerMany(Array.from({ length: 200 }, (_, i) => ({ kind: 'work', payload: { i } })));
        const seen: string[] = [];
        await Promise.all(
          Array.from({ length: 4 }, async (_, w) => {
            for (;;) {
              const batch = await registry.claim({ kinds: ['work'], workerId: `w${w}`, limit: 7 });
              if (batch.length === 0) return;
              seen.push(...batch.map((t) => t.taskId));
            }
          }),
        );
        expect(seen).toHaveLength(200);
        expect(new Set(seen).size).toBe(200);
      });

      it('never strands a dependent registered while its dependency completes', async () => {
        for (let round = 0; round < 25; round++) {
          const parent = `parent-${round}`;
          await registry.register({ kind: 'p', taskId: parent });
          const claimed = (await claimOne('p'))!;
          await Promise.all([
            registry.complete({ taskId: parent, attempt: claimed.attempt }),
            registry.register({ kind: 'c', taskId: `child-${round}`, dependsOn: [parent] }),
          ]);
          expect((await claimOne('c'))?.taskId).toBe(`child-${round}`);
        }
      });
    });
  });
}
