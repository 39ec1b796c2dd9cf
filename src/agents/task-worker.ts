import { EventEmitter } from 'node:events';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  describeError,
  isRetryable,
  OrchestraError,
  silentLogger,
  type Clock,
  type JsonValue,
  type Logger,
  type Message,
  type Task,
  type TaskHandler,
  type TimerHandle,
} from '../protocol/index.js';
import type { Bus, Subscription } from '../bus/index.js';
import { CANCELLED_TOPIC, taskTopic, type Completion, type Lease, type Outcome, type TaskRegistry } from '../registry/index.js';
import { workerConfig, type WorkerConfig, type WorkerOptions } from './worker-config.js';

export interface TaskWorkerDeps {
  registry: TaskRegistry;
  /** Wake-ups and cancellations arrive on it; without one the worker polls. */
  bus?: Bus;
  clock: Clock;
  logger?: Logger;
  /** One handler per task kind: the worker claims exactly these kinds. */
  handlers: Record<string, TaskHandler>;
  workerId?: string;
  config?: WorkerOptions;
}

export interface WorkerStats {
  running: number;
  claimed: number;
  completed: number;
  failed: number;
  /** Attempts whose lease was lost or that were cancelled while running. */
  lost: number;
}

export interface StopReport {
  /** Tasks that finished during the grace period. */
  finished: number;
  /** Tasks given back unfinished (PENDING again, no attempt spent). */
  released: number;
}

interface Running {
  task: Task;
  controller: AbortController;
  done: Promise<void>;
  /** Set when the worker gave the task back: its handler's outcome is not reported. */
  released: boolean;
}

/**
 * Claims tasks of its kinds and runs their handlers, at most `concurrency` at
 * once, renewing the leases it holds. Work arrives by wake-ups on the bus and
 * by polling; results go to the registry, which accepts them only while this
 * attempt holds the lease.
 */
export class TaskWorker extends EventEmitter {
  readonly workerId: string;
  readonly kinds: string[];
  readonly config: WorkerConfig;
  private readonly registry: TaskRegistry;
  private readonly bus: Bus | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly handlers: Record<string, TaskHandler>;
  private readonly running = new Map<string, Running>();
  private readonly subscriptions: Subscription[] = [];
  private readonly counters = { claimed: 0, completed: 0, failed: 0, lost: 0 };
  private claiming: Promise<void> | undefined;
  private claimAgain = false;
  private lastClaimEmpty = false;
  private idleWaiters: (() => void)[] = [];
  private pollTimer: TimerHandle | undefined;
  private renewTimer: TimerHandle | undefined;
  private sweepTimer: TimerHandle | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopReport: Promise<StopReport> | undefined;

  constructor(deps: TaskWorkerDeps) {
    super();
    this.registry = deps.registry;
    this.bus = deps.bus;
    this.clock = deps.clock;
    this.logger = (deps.logger ?? silentLogger).child({ worker: deps.workerId });
    this.handlers = deps.handlers;
    this.kinds = Object.keys(deps.handlers);
    if (this.kinds.length === 0) throw new OrchestraError('ORC_WORKER_NO_HANDLER', 'a worker needs a handler for at least one task kind');
    this.config = workerConfig.parse(deps.config ?? {});
    this.workerId = deps.workerId ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  get stats(): WorkerStats {
    return { running: this.running.size, ...this.counters };
  }

  private get leaseMs(): number {
    return this.config.leaseMs ?? this.registry.config.leaseMs;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    if (this.bus) {
      for (const kind of this.kinds) {
        this.subscriptions.push(await this.bus.subscribe({ topic: taskTopic(kind) }, () => this.wake()));
      }
      this.subscriptions.push(await this.bus.subscribe({ topic: CANCELLED_TOPIC }, (m) => this.onCancelled(m)));
    }
    this.schedulePoll();
    this.scheduleRenew();
    this.scheduleSweep();
    this.wake();
  }

  /** Asks for a claim soon; claims never overlap, and a wake-up during one runs another after it. */
  wake(): void {
    if (this.state !== 'running') return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = this.claimLoop().finally(() => {
      this.claiming = undefined;
      this.checkIdle();
    });
  }

  /** Resolves when nothing runs and the last claim found nothing to do. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /**
   * Stops claiming at once, lets running handlers finish within the grace
   * period, then aborts the rest and gives their tasks back.
   */
  stop(options: { graceMs?: number } = {}): Promise<StopReport> {
    this.stopReport ??= this.shutdown(options.graceMs ?? this.config.shutdownGraceMs);
    return this.stopReport;
  }

  private async shutdown(graceMs: number): Promise<StopReport> {
    this.state = 'stopping';
    this.clock.clearTimeout(this.pollTimer);
    this.clock.clearTimeout(this.sweepTimer);
    await Promise.allSettled(this.subscriptions.splice(0).map((s) => s.unsubscribe()));
    await this.claiming;
    const atStop = this.running.size;
    if (atStop > 0 && graceMs > 0) {
      const grace = new AbortController();
      await Promise.race([
        Promise.allSettled([...this.running.values()].map((r) => r.done)),
        this.clock.sleep(graceMs, grace.signal).catch(() => undefined),
      ]);
      grace.abort();
    }
    const unfinished = [...this.running.values()];
    for (const r of unfinished) {
      r.released = true;
      r.controller.abort(new OrchestraError('ORC_WORKER_SHUTDOWN', `worker ${this.workerId} shut down before task ${r.task.taskId} finished`));
    }
    const released = unfinished.length
      ? await this.registry.release(unfinished.map((r) => ({ taskId: r.task.taskId, attempt: r.task.attempt }))).catch((err) => {
          this.logger.error({ err: describeError(err) }, 'could not release tasks; their leases will expire');
          return [];
        })
      : [];
    this.clock.clearTimeout(this.renewTimer);
    this.state = 'stopped';
    this.checkIdle();
    return { finished: atStop - unfinished.length, released: released.length };
  }

  private async claimLoop(): Promise<void> {
    do {
      this.claimAgain = false;
      const free = this.config.concurrency - this.running.size;
      if (free <= 0 || this.state !== 'running') return;
      const limit = Math.min(free, this.config.claimBatchSize ?? free);
      let tasks: Task[];
      try {
        tasks = await this.registry.claim({ kinds: this.kinds, workerId: this.workerId, limit, leaseMs: this.leaseMs });
      } catch (err) {
        // The store may be restarting; the poll timer tries again.
        this.logger.warn({ err: describeError(err) }, 'claim failed; will try again');
        return;
      }
      this.counters.claimed += tasks.length;
      this.lastClaimEmpty = tasks.length === 0;
      for (const task of tasks) this.run(task);
      // A full batch suggests more is waiting.
      if (tasks.length === limit) this.claimAgain = true;
    } while (this.claimAgain);
  }

  private run(task: Task): void {
    const controller = new AbortController();
    const entry: Running = { task, controller, done: Promise.resolve(), released: false };
    // Keyed by attempt too: after a lost lease this worker may claim the task
    // again while the old attempt's handler is still winding down.
    const key = `${task.taskId}#${task.attempt}`;
    this.running.set(key, entry);
    this.emit('task_started', task);
    entry.done = this.execute(entry).finally(() => {
      this.running.delete(key);
      this.wake();
      this.checkIdle();
    });
  }

  private async execute(entry: Running): Promise<void> {
    const { task, controller } = entry;
    const handler = this.handlers[task.kind]!;
    let result: JsonValue | void;
    try {
      result = await handler(task, { signal: controller.signal, workerId: this.workerId, attempt: task.attempt });
    } catch (err) {
      if (entry.released) return;
      await this.reportFailure(entry, err);
      return;
    }
    if (entry.released) return;
    // A handler that finished after losing its lease still reports: the registry keeps it as late.
    const outcome = await this.completeAndClaimNext({ taskId: task.taskId, attempt: task.attempt, workerId: this.workerId, result: result ?? null });
    if (outcome?.accepted) {
      this.counters.completed++;
      this.emit('task_completed', task, outcome);
    } else {
      this.counters.lost++;
      this.emit('task_lost', task, controller.signal.reason ?? 'lease lost');
    }
  }

  /**
   * Reports a result, and when no claim is under way takes the next tasks in
   * the same statement (its slot is about to free). Falls back to a plain,
   * retried report if that call fails: it is one statement, so nothing of it
   * happened.
   */
  private async completeAndClaimNext(completion: Completion): Promise<Outcome | null> {
    if (this.state !== 'running' || this.claiming) return this.report(() => this.registry.complete(completion));
    let outcome: Outcome | null = null;
    const combined = (async () => {
      const free = this.config.concurrency - this.running.size + 1;
      const limit = Math.max(0, Math.min(free, this.config.claimBatchSize ?? free));
      try {
        const { outcomes, claimed } = await this.registry.completeAndClaim([completion], {
          kinds: this.kinds,
          workerId: this.workerId,
          limit,
          leaseMs: this.leaseMs,
        });
        outcome = outcomes[0] ?? null;
        this.counters.claimed += claimed.length;
        this.lastClaimEmpty = claimed.length === 0;
        for (const task of claimed) this.run(task);
        if (claimed.length > 0 && claimed.length === limit) this.claimAgain = true;
      } catch (err) {
        this.logger.warn({ err: describeError(err) }, 'complete-and-claim failed; reporting alone');
        outcome = await this.report(() => this.registry.complete(completion));
      }
    })();
    this.claiming = combined.finally(() => {
      this.claiming = undefined;
      // A wake-up that came meanwhile, or a full batch, asks for another claim.
      if (this.claimAgain) this.wake();
      this.checkIdle();
    });
    await combined;
    return outcome;
  }

  private async reportFailure(entry: Running, err: unknown): Promise<void> {
    const { task, controller } = entry;
    const { code, message } = describeError(err);
    const details = (err as { details?: unknown })?.details;
    const error = {
      code: code === 'ERROR' ? 'ORC_WORKER_HANDLER_FAILED' : code,
      message,
      retryable: isRetryable(err),
      ...(details && typeof details === 'object' ? { details: details as Record<string, JsonValue> } : {}),
    };
    const outcome = await this.report(() => this.registry.fail({ taskId: task.taskId, attempt: task.attempt, workerId: this.workerId, error }));
    if (outcome?.accepted) {
      this.counters.failed++;
      this.emit('task_failed', task, error, outcome);
    } else {
      this.counters.lost++;
      this.emit('task_lost', task, controller.signal.reason ?? 'lease lost');
    }
  }

  /** Reports survive a short store outage; past that the lease expires and the task runs again. */
  private async report(send: () => Promise<Outcome>): Promise<Outcome | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        if (attempt >= 5) {
          this.logger.error({ err: describeError(err) }, 'result could not be reported; the task will run again when its lease expires');
          return null;
        }
        await this.clock.sleep(100 * 2 ** attempt);
      }
    }
  }

  private onCancelled(message: Message): void {
    const data = message.data as { taskId?: unknown; attempt?: unknown };
    const entry = this.running.get(`${String(data?.taskId)}#${String(data?.attempt)}`);
    if (!entry) return;
    entry.controller.abort(new OrchestraError('ORC_REGISTRY_CANCELLED', `task ${entry.task.taskId} was cancelled`));
  }

  private async renewLeases(): Promise<void> {
    const held = [...this.running.values()].filter((r) => !r.controller.signal.aborted);
    if (held.length === 0) return;
    const leases: Lease[] = held.map((r) => ({ taskId: r.task.taskId, attempt: r.task.attempt }));
    try {
      const lost = new Set(await this.registry.renew(leases, this.leaseMs));
      for (const r of held) {
        // A newer attempt of the same task held here is renewed by the same id; only older ones can be lost.
        const newer = held.some((o) => o.task.taskId === r.task.taskId && o.task.attempt > r.task.attempt);
        if (lost.has(r.task.taskId) || newer) {
          r.controller.abort(new OrchestraError('ORC_REGISTRY_LEASE_LOST', `task ${r.task.taskId}: attempt ${r.task.attempt} lost its lease`));
        }
      }
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, 'lease renewal failed; will try again');
    }
  }

  private schedulePoll(): void {
    this.pollTimer = this.clock.setTimeout(() => {
      if (this.state !== 'running') return;
      this.wake();
      this.schedulePoll();
    }, this.config.pollIntervalMs);
  }

  private scheduleRenew(): void {
    const every = this.config.renewEveryMs ?? Math.max(1, Math.floor(this.leaseMs / 3));
    this.renewTimer = this.clock.setTimeout(() => {
      if (this.state === 'stopped') return;
      void this.renewLeases().finally(() => this.scheduleRenew());
    }, every);
  }

  private scheduleSweep(): void {
    if (this.config.sweepIntervalMs === 0) return;
    this.sweepTimer = this.clock.setTimeout(() => {
      if (this.state !== 'running') return;
      void this.registry
        .sweep()
        .catch((err) => this.logger.warn({ err: describeError(err) }, 'sweep failed; will try again'))
        .finally(() => this.scheduleSweep());
    }, this.config.sweepIntervalMs);
  }

  private checkIdle(): void {
    const idle = this.running.size === 0 && !this.claiming && (this.lastClaimEmpty || this.state === 'stopped');
    if (!idle) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
