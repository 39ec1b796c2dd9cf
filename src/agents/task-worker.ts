import { EventEmitter } from 'node:events';
import { setImmediate, clearImmediate } from 'node:timers';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  CANCELLED_TOPIC,
  describeError,
  OrchestraError,
  silentLogger,
  taskCancelledEvent,
  taskKindSchema,
  taskTopic,
  type Clock,
  type JsonValue,
  type Logger,
  type Message,
  type Task,
  type TaskContext,
  type TaskHandler,
  type Telemetry,
  type TimerHandle,
} from '../protocol/index.js';
import type { Bus, Subscription } from '../bus/index.js';
import type { Completion, Failure, Outcome, TaskRegistry } from '../registry/index.js';
import { resolveWorkerConfig, type ResolvedWorkerConfig, type WorkerOptions } from './worker-config.js';
import { checkResult, toTaskFailure } from './task-failure.js';
import { sendWithRetries } from './report-retry.js';
import { leaseLost, leaseOf, newestAttempts, runKey, type Run } from './task-run.js';
import type { StopReport, TaskWorkerEvents, WorkerStats } from './worker-events.js';

export interface TaskWorkerDeps {
  registry: TaskRegistry;
  /** Wake-ups and cancellations arrive on it; without one the worker finds work by polling. */
  bus?: Bus;
  clock: Clock;
  logger?: Logger;
  /** One handler per task kind: the worker claims exactly these kinds. */
  handlers: Record<string, TaskHandler>;
  /** Default: `<hostname>-<pid>-<6 hex digits>`. */
  workerId?: string;
  config?: WorkerOptions;
  /** Where this worker reports whether its claim loop turns. Default: the registry's. */
  telemetry?: Telemetry;
}

/** A claim or a poll this much overdue (or ten poll intervals, if longer) makes the worker stuck. */
const STUCK_AFTER_MS = 30_000;

/** The most reports one statement carries; more wait for the next. */
const MAX_REPORT_BATCH = 500;

/**
 * An AbortController whose signal is made only when someone asks for it.
 * Most in-process handlers never look at their signal, and a real one is one
 * of the dearest things a worker makes per task (its creation and collection
 * cost more than the rest of a no-op task's run in the worker). An abort
 * before the signal exists is kept, and the signal is then made aborted with
 * that reason: whoever reads it sees what they would have seen.
 */
class LazyAbortController implements AbortController {
  private made: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;

  get signal(): AbortSignal {
    if (!this.made) {
      this.made = new AbortController();
      if (this.abortedWith) this.made.abort(this.abortedWith.reason);
    }
    return this.made.signal;
  }

  abort(reason?: unknown): void {
    if (this.made) this.made.abort(reason);
    else this.abortedWith ??= { reason };
  }
}

/** A finished attempt waiting to be reported with the others that finished with it. */
interface QueuedReport<T> {
  run: Run;
  report: T;
  /** The registry's answer, or undefined when the batch was not delivered. */
  settle: (outcome: Outcome | undefined) => void;
}

/**
 * Claims tasks of its kinds and runs their handlers, at most `concurrency` at
 * once, renewing the leases it holds. Work is found on wake-ups from the bus
 * and on a poll timer; results go to the registry, which accepts them only
 * from the attempt holding the lease (invariant 2).
 */
export class TaskWorker extends EventEmitter<TaskWorkerEvents> {
  readonly workerId: string;
  readonly kinds: readonly string[];
  readonly config: ResolvedWorkerConfig;
  private readonly registry: TaskRegistry;
  private readonly bus: Bus | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly handlers: ReadonlyMap<string, TaskHandler>;
  private readonly runs = new Map<string, Run>();
  private readonly subscriptions: Subscription[] = [];
  private readonly counters = { claimed: 0, completed: 0, failed: 0, lost: 0 };
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  /** A claim was asked for (wake-up, poll, freed slot) and not yet made. */
  private claimWanted = false;
  /** The one statement in flight (a claim, or a batch of reports that also claims); they never overlap. */
  private inFlight: Promise<void> | undefined;
  /** Results and failures waiting for the next statement (group commit). */
  private readonly completions: QueuedReport<Completion>[] = [];
  private readonly failures: QueuedReport<Failure>[] = [];
  /** The turn of the event loop after the first queued report: reports finishing in the same turn go together. */
  private flushSoon: NodeJS.Immediate | undefined;
  private reportsDue = false;
  private lastClaimEmpty = false;
  /** Claimed after stop began: never started, given back with the rest. */
  private readonly unstarted: Task[] = [];
  /** Claimed ahead of a free slot (see prefetchRoom), started in claim order as slots free. */
  private readonly prefetched: Task[] = [];
  /** Runs whose handler has not settled yet (the rest are reporting). */
  private handlersRunning = 0;
  /**
   * Smoothed durations of handlers and of statements at the store, in ms of
   * the monotonic clock (not the worker's, which may be a test's manual one):
   * whether claiming ahead pays.
   */
  private handlerMsAvg: number | undefined;
  private statementMsAvg: number | undefined;
  private readonly idleWaiters: (() => void)[] = [];
  private pollTimer: TimerHandle | undefined;
  private renewTimer: TimerHandle | undefined;
  private sweepTimer: TimerHandle | undefined;
  private stopped: Promise<StopReport> | undefined;
  private readonly telemetry: Telemetry;
  private unwatch: () => void = () => {};
  /** When the claim in flight was sent to the store. */
  private claimSentAtMs: number | undefined;
  private lastPollAtMs = 0;

  constructor(deps: TaskWorkerDeps) {
    super();
    this.registry = deps.registry;
    this.bus = deps.bus;
    this.clock = deps.clock;
    this.handlers = new Map(Object.entries(deps.handlers));
    this.kinds = [...this.handlers.keys()];
    if (this.kinds.length === 0) throw new OrchestraError('ORC_WORKER_NO_HANDLER', 'a worker needs a handler for at least one task kind');
    for (const kind of this.kinds) {
      const valid = taskKindSchema.safeParse(kind);
      // No task could ever have this kind, so the handler would silently never run.
      if (!valid.success) throw new OrchestraError('ORC_CONFIG_INVALID', `handler for kind "${kind}": the kind ${valid.error.issues[0]?.message ?? 'is invalid'}`);
    }
    this.config = resolveWorkerConfig(deps.config, deps.registry.config.leaseMs);
    this.workerId = deps.workerId ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.logger = (deps.logger ?? silentLogger).child({ workerId: this.workerId });
    this.telemetry = deps.telemetry ?? deps.registry.telemetry;
  }

  get stats(): WorkerStats {
    let running = 0;
    for (const run of this.runs.values()) if (run.phase === 'handler') running++;
    return { running, ...this.counters };
  }

  /** Subscribes to wake-ups and cancellations, then starts claiming. */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    const subscribed: Subscription[] = [];
    try {
      if (this.bus) {
        for (const kind of this.kinds) subscribed.push(await this.bus.subscribe({ topic: taskTopic(kind) }, () => this.requestClaim()));
        subscribed.push(await this.bus.subscribe({ topic: CANCELLED_TOPIC }, (message) => this.onCancelled(message)));
      }
    } catch (err) {
      await Promise.allSettled(subscribed.map((s) => s.unsubscribe()));
      if (this.state === 'running') this.state = 'new';
      throw err;
    }
    // stop() may have been called while subscribing.
    if (this.state !== 'running') {
      await Promise.allSettled(subscribed.map((s) => s.unsubscribe()));
      return;
    }
    this.subscriptions.push(...subscribed);
    this.lastPollAtMs = this.clock.now();
    this.schedulePoll();
    this.scheduleRenew();
    this.scheduleSweep();
    this.unwatch = this.telemetry.watch({ name: `worker ${this.workerId}`, problem: (nowMs) => this.stuck(nowMs) });
    this.requestClaim();
    this.logger.info({ kinds: this.kinds, concurrency: this.config.concurrency }, 'worker started');
  }

  /** Resolves when nothing runs and the last claim found nothing to do (or the worker stopped). */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /**
   * Stops claiming at once, lets running handlers finish within the grace
   * period (default `shutdownGraceMs`), then aborts the rest and gives their
   * tasks back. Calling it again returns the same report.
   */
  stop(options: { graceMs?: number } = {}): Promise<StopReport> {
    this.stopped ??= this.shutdown(options.graceMs ?? this.config.shutdownGraceMs);
    return this.stopped;
  }

  private async shutdown(graceMs: number): Promise<StopReport> {
    this.state = 'stopping';
    this.unwatch();
    this.claimWanted = false;
    this.clock.clearTimeout(this.pollTimer);
    this.clock.clearTimeout(this.sweepTimer);
    await Promise.allSettled(this.subscriptions.splice(0).map((s) => s.unsubscribe()));
    await this.inFlight;
    const atStop = [...this.runs.values()];
    if (graceMs > 0 && atStop.some((r) => r.phase === 'handler')) {
      const graceOver = new AbortController();
      await Promise.race([Promise.allSettled(atStop.map((r) => r.done)), this.clock.sleep(graceMs, graceOver.signal).catch(() => undefined)]);
      graceOver.abort();
    }
    const unfinished = atStop.filter((r) => r.phase === 'handler' && this.runs.has(r.key));
    for (const run of unfinished) {
      run.released = true;
      run.controller.abort(new OrchestraError('ORC_WORKER_SHUTDOWN', `worker ${this.workerId} shut down before task ${run.task.taskId} finished`));
    }
    // Attempts already lost are not ours to give back.
    const giveBack = [
      ...unfinished.filter((r) => !r.lostReason).map((r) => leaseOf(r.task)),
      ...this.prefetched.splice(0).map(leaseOf),
      ...this.unstarted.splice(0).map(leaseOf),
    ];
    const released = giveBack.length
      ? await this.registry.release(giveBack).catch((err) => {
          this.logger.error({ err: describeError(err) }, 'could not release tasks; they run again when their leases expire');
          return [];
        })
      : [];
    // Results already on their way are real: let them land (their tries are bounded).
    await Promise.allSettled(atStop.filter((r) => r.phase === 'reporting').map((r) => r.done));
    this.clock.clearTimeout(this.renewTimer);
    this.state = 'stopped';
    this.checkIdle();
    const report = { finished: atStop.length - unfinished.length, released: released.length };
    this.logger.info(report, 'worker stopped');
    return report;
  }

  /** Slots with no handler running: a finished attempt waiting for its report to land holds none. */
  private freeSlots(): number {
    return this.config.concurrency - this.handlersRunning;
  }

  private claimLimit(free: number): number {
    return Math.min(free, this.config.claimBatchSize ?? free);
  }

  /**
   * How many tasks to claim beyond the free slots. When handlers finish
   * faster than a statement at the store takes, slots free while it is in
   * flight: tasks claimed ahead start then instead of waiting for the next
   * statement, and each statement carries the reports of up to twice the
   * concurrency. With slower handlers nothing is claimed ahead, so no task
   * waits behind a running one while another worker could take it.
   */
  private prefetchRoom(): number {
    if (this.state !== 'running') return 0;
    const fast = this.handlerMsAvg !== undefined && this.statementMsAvg !== undefined && this.handlerMsAvg < this.statementMsAvg;
    const target = this.config.prefetch ?? (fast ? this.config.concurrency : 0);
    return Math.max(0, target - this.prefetched.length);
  }

  private noteStatement(sentAt: number): void {
    this.statementMsAvg = smoothed(this.statementMsAvg, performance.now() - sentAt);
  }

  private requestClaim(): void {
    this.claimWanted = true;
    this.pump();
  }

  /**
   * Sends the next statement when none is in flight: the reports waiting, if
   * any (claiming for the slots free with them), else a claim if one is wanted
   * and a slot is free. Requests made meanwhile coalesce into that next one.
   */
  private pump(): void {
    if (this.inFlight) return;
    if (this.completions.length > 0 || this.failures.length > 0) {
      // Reports wait for the end of the turn they finished in, to go together.
      if (!this.reportsDue) return this.scheduleFlush();
      this.reportsDue = false;
      this.inFlight = this.flushReports().finally(() => this.statementEnded());
      return;
    }
    if (this.state !== 'running' || !this.claimWanted || this.freeSlots() + this.prefetchRoom() <= 0) return;
    this.inFlight = this.claimOnce().finally(() => this.statementEnded());
  }

  private scheduleFlush(): void {
    this.flushSoon ??= setImmediate(() => {
      this.flushSoon = undefined;
      this.reportsDue = true;
      this.pump();
    });
  }

  private statementEnded(): void {
    this.inFlight = undefined;
    // Reports queued while a statement was in flight have waited long enough.
    if (this.completions.length > 0 || this.failures.length > 0) {
      if (this.flushSoon) clearImmediate(this.flushSoon);
      this.flushSoon = undefined;
      this.reportsDue = true;
    }
    this.startPrefetched();
    this.pump();
    this.checkIdle();
  }

  private async claimOnce(): Promise<void> {
    const limit = this.claimLimit(this.freeSlots() + this.prefetchRoom());
    this.claimWanted = false;
    let tasks: Task[];
    try {
      this.claimSentAtMs = this.clock.now();
      const sentAt = performance.now();
      tasks = await this.registry.claim({ kinds: this.kinds, workerId: this.workerId, limit, leaseMs: this.config.leaseMs });
      this.noteStatement(sentAt);
    } catch (err) {
      // The store may be restarting; the poll timer asks again.
      this.logger.warn({ err: describeError(err) }, 'claim failed; will try again');
      return;
    } finally {
      this.claimSentAtMs = undefined;
    }
    this.accept(tasks, limit);
  }

  /** Runs what the free slots take now, in claim order; the rest were claimed ahead and wait for slots. */
  private accept(tasks: Task[], limit: number): void {
    this.counters.claimed += tasks.length;
    this.lastClaimEmpty = tasks.length === 0;
    if (this.state !== 'running') {
      this.unstarted.push(...tasks);
      return;
    }
    // Tasks claimed ahead earlier go first: they were claimed first.
    this.prefetched.push(...tasks);
    this.startPrefetched();
    // A full batch suggests more is waiting.
    if (tasks.length > 0 && tasks.length === limit) this.claimWanted = true;
  }

  /** Starts tasks claimed ahead in the slots free now. */
  private startPrefetched(): void {
    while (this.prefetched.length > 0 && this.state === 'running' && this.freeSlots() > 0) this.run(this.prefetched.shift()!);
  }

  private run(task: Task): void {
    // Keyed by attempt too: after losing a lease this worker may claim the task
    // again while the old attempt's handler is still winding down.
    const key = runKey(task.taskId, task.attempt);
    const run: Run = {
      key,
      task,
      startedAtMs: this.clock.now(),
      startedAtMonotonicMs: performance.now(),
      controller: new LazyAbortController(),
      phase: 'handler',
      released: false,
      slotClaimed: false,
      done: Promise.resolve(),
    };
    this.runs.set(key, run);
    this.handlersRunning++;
    this.notify('task_started', task);
    run.done = this.execute(run)
      .catch((err) => this.logger.error({ err: describeError(err), taskId: task.taskId }, 'task run ended unexpectedly'))
      .finally(() => {
        this.runs.delete(key);
        if (!run.slotClaimed) this.claimWanted = true;
        this.startPrefetched();
        this.pump();
        this.checkIdle();
      });
  }

  private async execute(run: Run): Promise<void> {
    const { task, controller } = run;
    const handler = this.handlers.get(task.kind);
    let outcome: { ok: true; result: JsonValue } | { ok: false; error: unknown };
    try {
      // Unreachable while claims ask only for handled kinds; retryable so a worker that has one takes it.
      if (!handler) throw new OrchestraError('ORC_WORKER_NO_HANDLER', `worker ${this.workerId} has no handler for kind ${task.kind}`, true);
      const context: TaskContext = {
        get signal() {
          return controller.signal;
        },
        workerId: this.workerId,
        attempt: task.attempt,
        dependencies: () => (task.dependsOn.length ? this.registry.getMany(task.dependsOn) : Promise.resolve([])),
      };
      const checked = checkResult(await this.withinRunTimeout(run, handler(task, context)));
      this.handlerMsAvg = smoothed(this.handlerMsAvg, performance.now() - run.startedAtMonotonicMs);
      outcome = checked.ok ? checked : { ok: false, error: checked.error };
    } catch (err) {
      outcome = { ok: false, error: err };
    }
    run.phase = 'reporting';
    this.handlersRunning--;
    // Its slot is free now: a task claimed ahead need not wait for this report to land.
    this.startPrefetched();
    if (run.released) return;
    if (outcome.ok) await this.reportCompletion(run, outcome.result);
    else await this.reportFailure(run, outcome.error);
  }

  /**
   * Bounds an attempt: past its run timeout the handler's signal is aborted
   * and the attempt fails, whether or not the handler heeds the signal, so a
   * handler that hangs cannot hold a slot (and renew its lease) for ever.
   */
  private withinRunTimeout<T>(run: Run, running: Promise<T>): Promise<T> {
    const { task, controller } = run;
    const limitMs = task.timeoutMs ?? this.config.runTimeoutMsByKind[task.kind] ?? this.config.runTimeoutMs;
    const clock = this.clock;
    // One promise and one timer per attempt; whichever settles it first wins.
    return new Promise<T>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        const err = new OrchestraError('ORC_WORKER_RUN_TIMEOUT', `task ${task.taskId}: attempt ${task.attempt} ran past its ${limitMs} ms run timeout`, true);
        controller.abort(err);
        reject(err);
      }, limitMs);
      Promise.resolve(running).then(
        (value) => {
          clock.clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clock.clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  private async reportCompletion(run: Run, result: JsonValue): Promise<void> {
    const { task } = run;
    const completion: Completion = { taskId: task.taskId, attempt: task.attempt, workerId: this.workerId, result };
    // A handler that finished after losing its attempt still reports: the registry keeps it as late.
    const outcome =
      (await this.enqueue(this.completions, run, completion)) ??
      (await this.deliver(run, () => this.registry.complete(completion), (t) => t.status === 'COMPLETED' && t.attempt === task.attempt));
    if (outcome?.accepted && !run.lostReason && outcome.refused) {
      // The store could not keep the result; the registry recorded the attempt as failed instead.
      this.counters.failed++;
      this.notify('task_failed', task, { error: { ...outcome.refused, retryable: false }, retrying: outcome.status === 'PENDING', durationMs: this.clock.now() - run.startedAtMs });
    } else if (outcome?.accepted && !run.lostReason) {
      this.counters.completed++;
      this.notify('task_completed', task, { result, durationMs: this.clock.now() - run.startedAtMs });
    } else this.lose(run, outcome);
  }

  private async reportFailure(run: Run, err: unknown): Promise<void> {
    const { task } = run;
    const error = toTaskFailure(err);
    const failure: Failure = { taskId: task.taskId, attempt: task.attempt, workerId: this.workerId, error };
    const outcome =
      (await this.enqueue(this.failures, run, failure)) ??
      (await this.deliver(run, () => this.registry.fail(failure), (t) => t.error?.attempt === task.attempt && t.error.code === error.code));
    if (outcome?.accepted && !run.lostReason) {
      this.counters.failed++;
      this.notify('task_failed', task, { error, retrying: outcome.status === 'PENDING', durationMs: this.clock.now() - run.startedAtMs });
    } else this.lose(run, outcome);
  }

  /** Queues a report for the next batch; resolves with its outcome, or undefined if the batch was not delivered. */
  private enqueue<T>(queue: QueuedReport<T>[], run: Run, report: T): Promise<Outcome | undefined> {
    return new Promise((settle) => {
      queue.push({ run, report, settle });
      this.pump();
    });
  }

  /**
   * Group commit: every report that finished since the last statement goes in
   * one. Failures are recorded together in one transaction; results together
   * in one statement that also claims the next tasks for the slots they free
   * (while the worker runs). Each attempt is fenced on its own in the store, so
   * a stale one is refused alone. Nobody hears of a result before its commit:
   * outcomes are settled only from the store's answer. A batch that fails is
   * sent again report by report, with retries.
   */
  private async flushReports(): Promise<void> {
    const failures = this.failures.splice(0, MAX_REPORT_BATCH);
    const completions = this.completions.splice(0, MAX_REPORT_BATCH);
    if (failures.length > 0) {
      await this.registry.failMany(failures.map((f) => f.report)).then(
        (outcomes) => failures.forEach((f, i) => f.settle(outcomes[i])),
        (err: unknown) => {
          this.logger.warn({ err: describeError(err), reports: failures.length }, 'failures not recorded together; reporting each alone');
          for (const f of failures) f.settle(undefined);
        },
      );
    }
    if (completions.length === 0) return;
    const reports = completions.map((c) => c.report);
    // The reporting runs' slots are already free (and maybe taken by tasks claimed ahead).
    const limit = this.state === 'running' ? this.claimLimit(this.freeSlots() + this.prefetchRoom()) : 0;
    try {
      if (limit <= 0) {
        const outcomes = await this.registry.completeMany(reports);
        completions.forEach((c, i) => c.settle(outcomes[i]));
        return;
      }
      this.claimWanted = false;
      this.claimSentAtMs = this.clock.now();
      const sentAt = performance.now();
      const { outcomes, claimed } = await this.registry.completeAndClaim(reports, { kinds: this.kinds, workerId: this.workerId, limit, leaseMs: this.config.leaseMs });
      this.noteStatement(sentAt);
      // A claim that found fewer than it asked for leaves no work behind for these slots.
      for (const c of completions) c.run.slotClaimed = claimed.length < limit;
      this.accept(claimed, limit);
      completions.forEach((c, i) => c.settle(outcomes[i]));
    } catch (err) {
      this.logger.warn({ err: describeError(err), reports: completions.length }, 'results not reported together; reporting each alone');
      this.claimWanted = true;
      for (const c of completions) c.settle(undefined);
    } finally {
      this.claimSentAtMs = undefined;
    }
  }

  /**
   * Sends a report through a store outage with a bounded backoff on the clock.
   * Returns null when it never landed: the lease then expires and the task
   * runs again, which is what at-least-once means.
   */
  private async deliver(run: Run, send: () => Promise<Outcome>, showsOurReport: (task: Task) => boolean): Promise<Outcome | null> {
    const policy = { attempts: this.config.reportAttempts, backoffMs: this.config.reportBackoffMs, backoffMaxMs: this.config.reportBackoffMaxMs };
    const { taskId } = run.task;
    try {
      const { value } = await sendWithRetries(send, policy, this.clock, (err, failed, delayMs) =>
        this.logger.warn({ err: describeError(err), taskId, failed, delayMs }, 'report not delivered; trying again'),
      );
      if (value.accepted) return value;
      // The batch before, or an earlier try, may have landed with its answer lost, which makes this one late.
      const task = await this.registry.find(taskId).catch(() => null);
      return task && showsOurReport(task) ? { ...value, accepted: true, status: task.status } : value;
    } catch (err) {
      this.logger.error({ err: describeError(err), taskId }, 'report could not be delivered; the task runs again when its lease expires');
      return null;
    }
  }

  private lose(run: Run, outcome: Outcome | null): void {
    const { task } = run;
    this.counters.lost++;
    const reason =
      run.lostReason ??
      (outcome
        ? leaseLost(task)
        : new OrchestraError('ORC_REGISTRY_LEASE_LOST', `task ${task.taskId}: the report of attempt ${task.attempt} could not be delivered`));
    this.notify('task_lost', task, { reason, durationMs: this.clock.now() - run.startedAtMs });
  }

  /** Aborts a handler whose attempt is no longer ours. Once it settled, the report's answer tells instead. */
  private abandon(run: Run, reason: OrchestraError): void {
    if (run.phase !== 'handler' || run.lostReason || run.released) return;
    run.lostReason = reason;
    this.logger.info({ taskId: run.task.taskId, attempt: run.task.attempt, code: reason.code }, 'aborting the handler');
    run.controller.abort(reason);
  }

  /**
   * A cancellation notice is a hint, not an order: anyone who can write to the
   * topic can send one. The handler is aborted only once the registry confirms
   * that this attempt no longer holds the task (cancelled, or moved elsewhere).
   */
  private async onCancelled(message: Message): Promise<void> {
    const notice = taskCancelledEvent.data.safeParse(message.data);
    if (!notice.success) return;
    const run = this.runs.get(runKey(notice.data.taskId, notice.data.attempt));
    if (!run) return this.onPrefetchedCancelled(notice.data.taskId, notice.data.attempt);
    let task: Task;
    try {
      task = await this.registry.get(run.task.taskId);
    } catch (err) {
      // Unconfirmed: the next lease renewal tells whether the attempt is still ours.
      this.logger.warn({ err: describeError(err), taskId: run.task.taskId }, 'cancel notice not confirmed; left to the lease renewal');
      return;
    }
    if (task.status === 'CANCELLED') this.abandon(run, new OrchestraError('ORC_REGISTRY_CANCELLED', `task ${run.task.taskId} was cancelled`));
    else if (!this.holds(task, run.task.attempt)) this.abandon(run, leaseLost(run.task));
    else this.logger.warn({ taskId: task.taskId, attempt: task.attempt, from: message.from }, 'ignored a cancel notice the registry does not confirm');
  }

  /** A task claimed ahead and not started yet is dropped once the registry confirms the attempt is no longer ours; it never starts. */
  private async onPrefetchedCancelled(taskId: string, attempt: number): Promise<void> {
    const noticed = (t: Task) => t.taskId === taskId && t.attempt === attempt;
    if (!this.prefetched.some(noticed)) return;
    const task = await this.registry.get(taskId).catch(() => undefined);
    if (!task || this.holds(task, attempt)) return;
    // Looked up again: it may have started while the registry answered.
    const at = this.prefetched.findIndex(noticed);
    if (at >= 0) this.prefetched.splice(at, 1);
    this.claimWanted = true;
    this.pump();
    this.checkIdle();
  }

  /** Whether the registry's `task` is still this worker's `attempt`. */
  private holds(task: Task, attempt: number): boolean {
    return task.status === 'RUNNING' && task.attempt === attempt && task.workerId === this.workerId;
  }

  /** One `renew` call for every lease held; the ones it reports lost abort their handlers. */
  private async renewLeases(): Promise<void> {
    const { newest, superseded } = newestAttempts(this.runs.values());
    for (const run of superseded) this.abandon(run, leaseLost(run.task));
    const waiting = [...this.prefetched];
    if (newest.length === 0 && waiting.length === 0) return;
    try {
      const lost = new Set(await this.registry.renew([...newest.map((r) => leaseOf(r.task)), ...waiting.map(leaseOf)], this.config.leaseMs));
      for (const run of newest) if (lost.has(run.task.taskId)) this.abandon(run, leaseLost(run.task));
      // Claimed ahead and lost before starting (expired, cancelled): never started.
      for (const task of waiting) {
        const at = lost.has(task.taskId) ? this.prefetched.indexOf(task) : -1;
        if (at >= 0) this.prefetched.splice(at, 1);
      }
    } catch (err) {
      // The lease outlasts a few missed renewals (renewEveryMs < leaseMs).
      this.logger.warn({ err: describeError(err) }, 'lease renewal failed; will try again');
    }
  }

  /** Why this worker's claim loop is not turning, if it is not: a claim the store never answered, or a poll timer that stopped firing. */
  private stuck(nowMs: number): string | undefined {
    const limitMs = Math.max(STUCK_AFTER_MS, 10 * this.config.pollIntervalMs);
    if (this.claimSentAtMs !== undefined && nowMs - this.claimSentAtMs > limitMs) {
      return `its claim has waited ${Math.round((nowMs - this.claimSentAtMs) / 1000)} s for the store`;
    }
    if (nowMs - this.lastPollAtMs > limitMs) return `its poll timer has not fired for ${Math.round((nowMs - this.lastPollAtMs) / 1000)} s`;
    return undefined;
  }

  private schedulePoll(): void {
    this.pollTimer = this.clock.setTimeout(() => {
      if (this.state !== 'running') return;
      this.lastPollAtMs = this.clock.now();
      this.schedulePoll();
      this.requestClaim();
    }, this.config.pollIntervalMs);
  }

  private scheduleRenew(): void {
    // Renewals go on while stopping: the grace period must not cost the leases.
    if (this.state === 'stopped') return;
    this.renewTimer = this.clock.setTimeout(() => {
      void this.renewLeases().finally(() => this.scheduleRenew());
    }, this.config.renewEveryMs);
  }

  private scheduleSweep(): void {
    if (this.config.sweepIntervalMs === 0 || this.state !== 'running') return;
    this.sweepTimer = this.clock.setTimeout(() => {
      if (this.state !== 'running') return;
      void this.registry
        .sweep()
        .catch((err) => this.logger.warn({ err: describeError(err) }, 'sweep failed; will try again'))
        .finally(() => this.scheduleSweep());
    }, this.config.sweepIntervalMs);
  }

  private notify<K extends keyof TaskWorkerEvents>(event: K, ...args: TaskWorkerEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: TaskWorkerEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error({ err: describeError(err), event }, 'a worker event listener threw; ignored');
    }
  }

  private checkIdle(): void {
    const idle =
      this.runs.size === 0 && this.prefetched.length === 0 && !this.inFlight && this.completions.length === 0 && this.failures.length === 0 && (this.lastClaimEmpty || this.state === 'stopped');
    if (idle) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

/** An average that follows the recent values (each new one weighs a fifth). */
function smoothed(average: number | undefined, value: number): number {
  return average === undefined ? value : average + (value - average) / 5;
}
