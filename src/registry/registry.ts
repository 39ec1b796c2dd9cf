import {
  CANCELLED_TOPIC,
  createMessage,
  describeError,
  REGISTRY_AGENT_ID,
  taskCancelledEvent,
  taskTopic,
  silentLogger,
  validateNewTask,
  ValidationError,
  type Clock,
  type JsonValue,
  type Logger,
  type NewTask,
  type Rng,
  type Task,
  type TaskError,
  type TaskStatus,
  TASK_STATUSES,
  MIN_PRIORITY,
  MAX_PRIORITY,
  storableCopy,
  noTelemetry,
  type Telemetry,
} from '../protocol/index.js';
import type { z } from 'zod';
import type { Bus } from '../bus/index.js';
import {
  cancelTask,
  claimTasks,
  completeAndClaimTasks,
  completeTasks,
  runnableKinds,
  runnableTasks,
  assignTasks,
  countTasks,
  countTimedOutAttempts,
  expireLeases,
  failDependents,
  failTasks,
  findBrokenDependencies,
  getLateReports,
  getTasks,
  listTasks,
  pruneFinishedTasks,
  recountDependencies,
  reassignTasks,
  countUnfinishedByKind,
  redriveTask,
  releaseTasks,
  renewLeases,
  sweepExpiredLeases,
  toTask,
  DuplicateKeyError,
  type CompletionReport,
  type Db,
  type LateReportRow,
  type Lease,
  type RunnableTask,
} from '../store/index.js';
import { registryConfig, type RegistryConfig, type RegistryOptions } from './config.js';
import { registerTasks, type Registration } from './registration.js';
import { retryDelayMs } from './backoff.js';
import { mergeOutcomes, resultRefusal } from './result-check.js';
import {
  DuplicateTaskIdError,
  IdempotencyRace,
  InvalidTransitionError,
  TaskNotFoundError,
} from './errors.js';

/** Listings leave out results larger than this (encoded); `get` gives them whole. */
const LISTED_RESULT_BYTES = 64 * 1024;

/** What a listing's cursor looks like: opaque to its users, `s` and a task's sequence number here. */
export const TASK_CURSOR = /^s\d{1,18}$/;

function cursorSeq(cursor: string): number {
  if (!TASK_CURSOR.test(cursor)) {
    throw new ValidationError('task filter', [{ path: 'cursor', code: 'ORC_PROTOCOL_INVALID_VALUE', message: `${JSON.stringify(cursor.slice(0, 40))} is not a cursor a listing gave` }]);
  }
  return Number(cursor.slice(1));
}

/** A cancellation notice as its contract declares it (the registry publishes on the bus directly: it is no agent). */
const cancelNotice = (notice: z.input<typeof taskCancelledEvent.data>): JsonValue => taskCancelledEvent.data.parse(notice);

export interface ClaimRequest {
  kinds: readonly string[];
  workerId: string;
  limit: number;
  /** Default: the registry's `leaseMs`. */
  leaseMs?: number;
}

export interface Completion {
  taskId: string;
  attempt: number;
  workerId?: string | null;
  result?: JsonValue | null | void;
}

/** The failures that mean an attempt ran past its time limit: counted apart, for the monitor. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set(['ORC_WORKER_RUN_TIMEOUT', 'ORC_WORKER_COMMAND_TIMEOUT']);

export interface Failure {
  taskId: string;
  attempt: number;
  workerId?: string | null;
  error: { code: string; message: string; retryable?: boolean; details?: Record<string, JsonValue> };
}

export interface Outcome {
  taskId: string;
  /** False when the attempt had lost its lease: the report was kept as late and changed nothing. */
  accepted: boolean;
  /** The task's status after the report, when accepted. */
  status: TaskStatus | null;
  /** Set when a result could not be stored (too large, unstorable text): the attempt was recorded as failed with this error instead. */
  refused?: { code: string; message: string };
}

export interface TaskFilter {
  status?: readonly TaskStatus[];
  kind?: readonly string[];
  limit?: number;
  offset?: number;
  order?: 'asc' | 'desc';
  /** The `next` of the page before: the tasks after its last, in this order. */
  cursor?: string;
  /** Only tasks whose id is this or starts with it (matched literally). */
  idPrefix?: string;
}

/** One page of a listing, and the cursor of the next (null on the last page). */
export interface TaskPage {
  tasks: Task[];
  next: string | null;
}

export interface TaskCounts {
  total: number;
  byStatus: Record<TaskStatus, number>;
  byPriority: Record<number, number>;
  /** Every non-empty (status, priority) pair. */
  cells: { status: TaskStatus; priority: number; count: number }[];
}

export interface SweepReport {
  requeued: string[];
  failed: string[];
}

export interface TaskRegistryDeps {
  db: Db;
  clock: Clock;
  rng: Rng;
  /** Wake-ups go out on it after each commit; without one, workers find work by polling. */
  bus?: Pick<Bus, 'publish'>;
  logger?: Logger;
  config?: RegistryOptions;
  /** Where claim latencies are counted, and the workers claiming here report whether their loops turn. Default: nowhere. */
  telemetry?: Telemetry;
}

/**
 * The durable task state machine: PENDING → RUNNING → COMPLETED / FAILED, and
 * CANCELLED. Every change is one committed transaction before anyone hears of
 * it (invariant 1); results are accepted only from the attempt holding the
 * lease (invariant 2).
 */
export class TaskRegistry {
  readonly config: RegistryConfig;
  readonly telemetry: Telemetry;
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly bus: Pick<Bus, 'publish'> | undefined;
  private readonly logger: Logger;

  constructor(deps: TaskRegistryDeps) {
    this.db = deps.db;
    this.clock = deps.clock;
    this.rng = deps.rng;
    this.bus = deps.bus;
    this.logger = deps.logger ?? silentLogger;
    this.config = registryConfig.parse(deps.config ?? {});
    this.telemetry = deps.telemetry ?? noTelemetry;
  }

  async register(input: NewTask): Promise<Registration> {
    const [registration] = await this.registerMany([input]);
    return registration!;
  }

  /** Registers all of `inputs` in one transaction, or none of them. */
  async registerMany(inputs: readonly unknown[]): Promise<Registration[]> {
    if (inputs.length > this.config.maxBatchSize) {
      throw new ValidationError('registration', [
        { path: '(root)', code: 'ORC_PROTOCOL_OUT_OF_RANGE', message: `holds ${inputs.length} tasks, more than ${this.config.maxBatchSize}` },
      ]);
    }
    const valid = inputs.map((input, index) => {
      try {
        return validateNewTask(input, this.config.maxPayloadBytes);
      } catch (err) {
        if (err instanceof ValidationError && inputs.length > 1) {
          throw new ValidationError(`task ${index + 1} of ${inputs.length}`, err.issues);
        }
        throw err;
      }
    });
    if (valid.length === 0) return [];
    for (let attempt = 1; ; attempt++) {
      const nowMs = this.clock.now();
      try {
        // Tasks with neither dependencies nor idempotency keys need no reads
        // first: one INSERT registers them all, atomically, in one round trip.
        const simple = valid.every((t) => t.dependsOn.length === 0 && t.idempotencyKey === undefined);
        const { registrations, wake } = simple
          ? await registerTasks(this.db, valid, nowMs, this.config.maxAttempts)
          : await this.db.transaction((tx) => registerTasks(tx, valid, nowMs, this.config.maxAttempts));
        await this.notifyKinds(wake);
        return registrations;
      } catch (err) {
        if (err instanceof IdempotencyRace && attempt < 5) continue;
        if (err instanceof DuplicateKeyError && err.column === 'task_id') throw new DuplicateTaskIdError(err.value ?? 'given');
        throw err;
      }
    }
  }

  /** Claims up to `limit` runnable tasks of `kinds`, most urgent first, FIFO within a priority. */
  async claim(request: ClaimRequest): Promise<Task[]> {
    const nowMs = this.clock.now();
    let claimed: Task[];
    try {
      claimed = await claimTasks(this.db, { kinds: request.kinds, workerId: request.workerId, limit: request.limit, nowMs, leaseMs: request.leaseMs ?? this.config.leaseMs });
    } catch (err) {
      this.telemetry.claim(this.clock.now() - nowMs, undefined);
      throw err;
    }
    this.telemetry.claim(this.clock.now() - nowMs, claimed.length);
    return claimed;
  }

  /** Of `kinds`, those with a task a claim would take now. */
  async runnableKinds(kinds: readonly string[]): Promise<Set<string>> {
    return runnableKinds(this.db, kinds, this.clock.now());
  }

  /** Up to `limit` tasks of `kind` a claim would take now, in claim order (priority, then registration), left where they are. */
  async runnable(kind: string, limit: number): Promise<RunnableTask[]> {
    return runnableTasks(this.db, kind, this.clock.now(), Math.min(Math.max(limit, 0), 10_000));
  }

  /** Extends the leases still held; returns the ids of those that were lost (expired, cancelled, finished). */
  async renew(leases: readonly Lease[], leaseMs = this.config.leaseMs): Promise<string[]> {
    const held = await renewLeases(this.db, leases, this.clock.now(), leaseMs);
    return leases.filter((l) => !held.has(l.taskId)).map((l) => l.taskId);
  }

  async complete(completion: Completion): Promise<Outcome> {
    return (await this.completeMany([completion]))[0]!;
  }

  async completeMany(completions: readonly Completion[]): Promise<Outcome[]> {
    if (completions.length === 0) return [];
    const { reports, refused } = await this.screenResults(completions);
    const { outcomes, wokenKinds: wake } = await completeTasks(this.db, reports, this.clock.now());
    await this.notifyKinds(wake);
    this.logLate(outcomes);
    return mergeOutcomes(completions, refused, outcomes);
  }

  /**
   * Splits reports into the results the store can keep and those it cannot;
   * the latter are recorded at once as failed attempts, so a task never runs
   * again only because its output could not be written.
   */
  private async screenResults(completions: readonly Completion[]): Promise<{ reports: CompletionReport[]; refused: Map<number, Outcome> }> {
    const reports: CompletionReport[] = [];
    const failures: { index: number; failure: Failure }[] = [];
    completions.forEach((c, index) => {
      const result = (c.result ?? null) as JsonValue | null;
      const error = resultRefusal(result, this.config.maxResultBytes);
      if (error) failures.push({ index, failure: { taskId: c.taskId, attempt: c.attempt, workerId: c.workerId ?? null, error } });
      else reports.push({ taskId: c.taskId, attempt: c.attempt, workerId: c.workerId ?? null, result });
    });
    const refused = new Map<number, Outcome>();
    if (failures.length === 0) return { reports, refused };
    const outcomes = await this.failMany(failures.map((f) => f.failure));
    failures.forEach(({ index, failure }, i) => {
      this.logger.warn({ taskId: failure.taskId, code: failure.error.code }, failure.error.message);
      refused.set(index, { ...outcomes[i]!, refused: { code: failure.error.code, message: failure.error.message } });
    });
    return { reports, refused };
  }

  /**
   * Reports finished attempts and claims the next tasks in one statement: what
   * a worker does in its steady state, for one round trip and one commit
   * instead of two.
   */
  async completeAndClaim(completions: readonly Completion[], request: ClaimRequest): Promise<{ outcomes: Outcome[]; claimed: Task[] }> {
    const { reports, refused } = await this.screenResults(completions);
    const nowMs = this.clock.now();
    const { outcomes, wokenKinds, claimed } = await completeAndClaimTasks(this.db, reports, {
      kinds: request.kinds,
      workerId: request.workerId,
      limit: request.limit,
      nowMs,
      leaseMs: request.leaseMs ?? this.config.leaseMs,
    });
    await this.notifyKinds(wokenKinds);
    this.logLate(outcomes);
    return { outcomes: mergeOutcomes(completions, refused, outcomes), claimed };
  }

  async fail(failure: Failure): Promise<Outcome> {
    return (await this.failMany([failure]))[0]!;
  }

  /** Records failed attempts: retried after a backoff while attempts remain and the error allows, else FAILED. */
  async failMany(failures: readonly Failure[]): Promise<Outcome[]> {
    if (failures.length === 0) return [];
    const nowMs = this.clock.now();
    const current = new Map((await getTasks(this.db, failures.map((f) => f.taskId))).map((r) => [r.task_id, r]));
    const reports = failures.map((f) => {
      const row = current.get(f.taskId);
      const retryNumber = row ? Math.max(1, f.attempt - Number(row.attempt_base)) : 1;
      const delay = retryDelayMs(retryNumber, this.config.backoffBaseMs, this.config.backoffMaxMs, this.rng);
      // An error's text is diagnostics (a command's stderr): characters the
      // store cannot keep are replaced rather than losing the whole failure.
      const error = storableCopy({
        code: f.error.code,
        message: f.error.message,
        retryable: f.error.retryable ?? true,
        attempt: f.attempt,
        ...(f.error.details ? { details: f.error.details } : {}),
      } as JsonValue) as unknown as TaskError;
      return { taskId: f.taskId, attempt: f.attempt, workerId: f.workerId ?? null, error, retryAtMs: nowMs + delay, timedOut: TIMEOUT_CODES.has(error.code) };
    });
    const outcomes = await this.db.transaction(async (tx) => {
      const outcomes = await failTasks(tx, reports, nowMs);
      const roots = outcomes.filter((o) => o.accepted && o.status === 'FAILED' && o.hasDependents);
      await failDependents(tx, roots.map((o) => ({ taskId: o.taskId, outcome: 'failed' })), nowMs);
      return outcomes;
    });
    this.logLate(outcomes);
    return outcomes.map((o) => ({ taskId: o.taskId, accepted: o.accepted, status: o.status }));
  }

  /** Gives back unfinished tasks (a worker shutting down) without spending an attempt. */
  async release(leases: readonly Lease[]): Promise<string[]> {
    const released = await releaseTasks(this.db, leases, this.clock.now());
    await this.notifyKinds(new Set(released.map((r) => r.kind)));
    return released.map((r) => r.taskId);
  }

  /** Cancels a PENDING or RUNNING task; a running handler sees its AbortSignal fire. */
  async cancel(taskId: string, reason = 'cancelled by request'): Promise<Task> {
    const nowMs = this.clock.now();
    const outcome = await this.db.transaction(async (tx) => {
      const current = await getTasks(tx, [taskId]);
      const cancelled = await cancelTask(tx, taskId, nowMs, {
        code: 'ORC_REGISTRY_CANCELLED',
        message: reason,
        retryable: false,
        attempt: Number(current[0]?.attempt ?? 0),
      });
      if (cancelled?.hasDependents) await failDependents(tx, [{ taskId, outcome: 'was cancelled' }], nowMs);
      return cancelled;
    });
    if (!outcome) {
      const task = await this.get(taskId);
      throw new InvalidTransitionError(taskId, task.status, 'cancel', 'only PENDING or RUNNING tasks can be cancelled');
    }
    if (outcome.previousStatus === 'RUNNING' && this.bus) {
      const event = createMessage(
        {
          type: 'event',
          from: REGISTRY_AGENT_ID,
          to: null,
          action: taskCancelledEvent.name,
          data: cancelNotice({ taskId, attempt: outcome.attempt, workerId: outcome.workerId, reason }),
        },
        nowMs,
      );
      await this.bus.publish(CANCELLED_TOPIC, event).catch((err) => this.logger.warn({ err: describeError(err), taskId }, 'cancel notice not sent; the worker will see it at its next lease renewal'));
    }
    return this.get(taskId);
  }

  /**
   * Moves unfinished tasks of `fromKinds` to `kind`, PENDING (see
   * `reassignTasks`): work a worker was given is handed to another. A running
   * attempt is told on the cancellation topic, so its handler stops; its report
   * is refused whatever it does. Returns the tasks moved.
   */
  async reassign(taskIds: readonly string[], kind: string, fromKinds: readonly string[]): Promise<{ taskId: string; previousKind: string; previousStatus: TaskStatus }[]> {
    const nowMs = this.clock.now();
    const moved = await reassignTasks(this.db, taskIds, kind, fromKinds, nowMs);
    if (this.bus) {
      for (const m of moved.filter((r) => r.previousStatus === 'RUNNING')) {
        const event = createMessage(
          {
            type: 'event',
            from: REGISTRY_AGENT_ID,
            to: null,
            action: taskCancelledEvent.name,
            data: cancelNotice({ taskId: m.taskId, attempt: m.attempt, workerId: m.workerId, reason: `reassigned to ${kind}` }),
          },
          nowMs,
        );
        await this.bus.publish(CANCELLED_TOPIC, event).catch((err) => this.logger.warn({ err: describeError(err), taskId: m.taskId }, 'reassignment notice not sent'));
      }
    }
    if (moved.length) await this.notifyKinds(new Set([kind]));
    return moved.map((m) => ({ taskId: m.taskId, previousKind: m.previousKind, previousStatus: m.previousStatus }));
  }

  /**
   * Hands waiting tasks of `fromKinds` out, each to the kind given with it, in
   * one statement, and wakes each kind's workers. Returns the tasks moved;
   * one no longer waiting there (claimed, cancelled, moved) is left alone.
   */
  async assign(assignments: readonly { taskId: string; kind: string }[], fromKinds: readonly string[]): Promise<{ taskId: string; kind: string }[]> {
    const moved = await assignTasks(this.db, assignments, fromKinds, this.clock.now());
    await this.notifyKinds(new Set(moved.map((m) => m.kind)));
    return moved;
  }

  /** Unfinished (PENDING, RUNNING) tasks of each of `kinds`. */
  async unfinishedByKind(kinds: readonly string[]): Promise<Map<string, { pending: number; running: number }>> {
    const counts = new Map(kinds.map((k) => [k, { pending: 0, running: 0 }]));
    for (const row of await countUnfinishedByKind(this.db, kinds)) {
      const c = counts.get(row.kind)!;
      if (row.status === 'PENDING') c.pending = row.count;
      else c.running = row.count;
    }
    return counts;
  }

  /**
   * Redrives a FAILED or CANCELLED task with a fresh attempt budget, together
   * with the dependents that failed only because of it. Returns every task put back.
   */
  async retry(taskId: string): Promise<Task[]> {
    const nowMs = this.clock.now();
    const { ids, wake } = await this.db.transaction(async (tx) => {
      const [row] = await getTasks(tx, [taskId]);
      if (!row) throw new TaskNotFoundError(taskId);
      if (row.status !== 'FAILED' && row.status !== 'CANCELLED') {
        throw new InvalidTransitionError(taskId, row.status, 'retry', 'only FAILED or CANCELLED tasks can be retried');
      }
      const broken = await findBrokenDependencies(tx, [taskId]);
      if (broken[0]) {
        throw new InvalidTransitionError(taskId, row.status, 'retry', `its dependency ${broken[0].dependsOn} is ${broken[0].status}: retry that first`);
      }
      const ids = await redriveTask(tx, taskId, nowMs);
      const runnable = await recountDependencies(tx, ids);
      return { ids, wake: new Set(runnable.map((r) => r.kind)) };
    });
    await this.notifyKinds(wake);
    return (await getTasks(this.db, ids)).map(toTask);
  }

  async get(taskId: string): Promise<Task> {
    const task = await this.find(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    return task;
  }

  async find(taskId: string): Promise<Task | null> {
    const [row] = await getTasks(this.db, [taskId]);
    return row ? toTask(row) : null;
  }

  async getMany(taskIds: readonly string[]): Promise<Task[]> {
    return (await getTasks(this.db, taskIds)).map(toTask);
  }

  async list(filter: TaskFilter = {}): Promise<Task[]> {
    return (await this.page(filter)).tasks;
  }

  /** A page of tasks, newest first unless `order` says otherwise, with the cursor of the next. */
  async page(filter: TaskFilter = {}): Promise<TaskPage> {
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 10_000);
    const rows = await listTasks(this.db, {
      statuses: filter.status,
      kinds: filter.kind,
      limit,
      offset: Math.max(filter.offset ?? 0, 0),
      order: filter.order ?? 'desc',
      maxResultBytes: LISTED_RESULT_BYTES,
      ...(filter.cursor !== undefined ? { afterSeq: cursorSeq(filter.cursor) } : {}),
      ...(filter.idPrefix !== undefined ? { idPrefix: filter.idPrefix } : {}),
    });
    return { tasks: rows.map(toTask), next: rows.length === limit ? `s${String(rows.at(-1)!.seq)}` : null };
  }

  async counts(): Promise<TaskCounts> {
    const cells = await countTasks(this.db);
    const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    const byPriority: Record<number, number> = {};
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) byPriority[p] = 0;
    let total = 0;
    for (const cell of cells) {
      byStatus[cell.status] += cell.count;
      byPriority[cell.priority] = (byPriority[cell.priority] ?? 0) + cell.count;
      total += cell.count;
    }
    return { total, byStatus, byPriority, cells };
  }

  /** Returns tasks whose lease expired to PENDING, or fails them with a timeout when out of attempts. */
  async sweep(): Promise<SweepReport> {
    const report: SweepReport = { requeued: [], failed: [] };
    const wake = new Set<string>();
    for (;;) {
      const nowMs = this.clock.now();
      const swept = await this.db.transaction(async (tx) => {
        const swept = await sweepExpiredLeases(tx, nowMs, this.config.sweepBatchSize);
        const roots = swept.filter((s) => s.status === 'FAILED' && s.hasDependents);
        await failDependents(tx, roots.map((s) => ({ taskId: s.taskId, outcome: 'failed' })), nowMs);
        return swept;
      });
      for (const s of swept) {
        if (s.status === 'PENDING') {
          report.requeued.push(s.taskId);
          wake.add(s.kind);
        } else report.failed.push(s.taskId);
      }
      if (swept.length < this.config.sweepBatchSize) break;
    }
    await this.notifyKinds(wake);
    if (report.requeued.length || report.failed.length) {
      this.logger.info({ requeued: report.requeued.length, failed: report.failed.length }, 'swept expired leases');
    }
    return report;
  }

  /**
   * Ends the given leases now, as if their worker had gone silent, and sweeps:
   * for the tasks of a worker known to be dead (a killed run being resumed),
   * which would otherwise wait out their leases. Leases that moved on are left alone.
   */
  async expire(leases: readonly Lease[]): Promise<SweepReport> {
    // Just before now: the sweep takes leases that ended before its time.
    const expired = await expireLeases(this.db, leases, this.clock.now() - 1);
    if (expired.length === 0) return { requeued: [], failed: [] };
    return this.sweep();
  }

  /** Attempts that failed for running past their time limit (a handler's run timeout, a command's timeout), over the tasks still stored. */
  async timedOutAttempts(): Promise<number> {
    return countTimedOutAttempts(this.db);
  }

  /** Deletes finished tasks last changed more than `olderThanMs` ago (default: the retention). */
  async prune(olderThanMs = this.config.retentionMs): Promise<number> {
    return pruneFinishedTasks(this.db, this.clock.now() - olderThanMs, 1000);
  }

  /** Reports refused because their attempt had lost the lease, oldest first. */
  async lateReports(taskId: string): Promise<LateReportRow[]> {
    return getLateReports(this.db, taskId);
  }

  private async notifyKinds(kinds: Set<string>): Promise<void> {
    if (!this.bus || kinds.size === 0) return;
    const nowMs = this.clock.now();
    await Promise.all(
      [...kinds].map((kind) =>
        this.bus!.publish(
          taskTopic(kind),
          createMessage({ type: 'event', from: REGISTRY_AGENT_ID, to: null, action: 'task_available', data: { kind } }, nowMs),
        ).catch((err) =>
          // The task is committed; a lost wake-up only delays it until the next poll.
          this.logger.warn({ err: describeError(err), kind }, 'wake-up not sent; workers will find the task when they poll'),
        ),
      ),
    );
  }

  private logLate(outcomes: readonly { taskId: string; accepted: boolean }[]): void {
    for (const o of outcomes) {
      if (!o.accepted) this.logger.info({ taskId: o.taskId }, 'report from an attempt without the lease kept as late; task unchanged');
    }
  }
}
