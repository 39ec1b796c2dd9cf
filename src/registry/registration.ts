import { randomUUID } from 'node:crypto';
import { jsonEqual, type JsonValue, type Task, type TaskError, type TaskStatus, type ValidNewTask } from '../protocol/index.js';
import {
  findTasksByIdempotencyKeys,
  insertTasks,
  markDependedOn,
  toTask,
  type InsertTaskRow,
  type Queryable,
  type TaskRow,
} from '../store/index.js';
import {
  DependencyCycleError,
  DuplicateTaskIdError,
  IdempotencyConflictError,
  IdempotencyRace,
  UnknownDependencyError,
} from './errors.js';

export interface Registration {
  task: Task;
  /** False when an idempotency key matched an existing task and nothing was created. */
  created: boolean;
}

/**
 * Registers validated tasks with `db` (a transaction unless the tasks are
 * simple, see the caller): resolves idempotency keys, checks and locks
 * dependencies, refuses cycles, and inserts. Returns what was registered and
 * the kinds whose workers should be woken once it is committed.
 */
export async function registerTasks(
  tx: Queryable,
  inputs: readonly ValidNewTask[],
  nowMs: number,
  defaultMaxAttempts: number,
): Promise<{ registrations: Registration[]; wake: Set<string> }> {
  // 1. Idempotency: a key already registered (before, or earlier in this batch) resolves to that task.
  const keys = [...new Set(inputs.flatMap((t) => (t.idempotencyKey ? [t.idempotencyKey] : [])))];
  const existingByKey = new Map((await findTasksByIdempotencyKeys(tx, keys)).map((row) => [row.idempotency_key!, row]));
  const idOf = new Map<string, string>(); // caller-given id -> actual id
  const firstIndexOfKey = new Map<string, number>();
  const plan: ({ kind: 'existing'; row: TaskRow } | { kind: 'same-as'; index: number } | { kind: 'new'; id: string })[] = [];
  for (const [index, input] of inputs.entries()) {
    const key = input.idempotencyKey;
    const existing = key ? existingByKey.get(key) : undefined;
    if (existing) {
      checkSameWork(key!, existing.task_id, existing, input);
      plan.push({ kind: 'existing', row: existing });
      if (input.taskId) idOf.set(input.taskId, existing.task_id);
    } else if (key && firstIndexOfKey.has(key)) {
      const first = inputs[firstIndexOfKey.get(key)!]!;
      checkSameWork(key, first.taskId ?? `(task ${firstIndexOfKey.get(key)! + 1} of this registration)`, first, input);
      plan.push({ kind: 'same-as', index: firstIndexOfKey.get(key)! });
    } else {
      if (key) firstIndexOfKey.set(key, index);
      const id = input.taskId ?? randomUUID();
      if (input.taskId) {
        if (idOf.has(input.taskId)) throw new DuplicateTaskIdError(input.taskId);
        idOf.set(input.taskId, id);
      }
      plan.push({ kind: 'new', id });
    }
  }
  for (const [index, step] of plan.entries()) {
    if (step.kind === 'same-as') {
      const first = plan[step.index]!;
      const taskId = inputs[index]!.taskId;
      if (taskId && first.kind === 'new') idOf.set(taskId, first.id);
    }
  }

  const fresh = plan.flatMap((step, index) => (step.kind === 'new' ? [{ id: step.id, input: inputs[index]! }] : []));

  // 2. Dependencies: inside the batch, or existing tasks (locked and marked as depended on).
  const freshIds = new Set(fresh.map((f) => f.id));
  const depsOf = new Map(fresh.map((f) => [f.id, f.input.dependsOn.map((d) => idOf.get(d) ?? d)]));
  const external = [...new Set([...depsOf.values()].flat().filter((d) => !freshIds.has(d)))];
  const externalStatus = await markDependedOn(tx, external);
  for (const f of fresh) {
    const missing = depsOf.get(f.id)!.find((d) => !freshIds.has(d) && !externalStatus.has(d));
    if (missing) throw new UnknownDependencyError(f.input.taskId ?? `(new task of kind ${f.input.kind})`, missing);
  }
  const order = topologicalOrder(fresh.map((f) => f.id), depsOf);

  // 3. Each new task starts PENDING (waiting on its unfinished dependencies),
  //    or FAILED at once when a dependency already failed or was cancelled.
  const inputById = new Map(fresh.map((f) => [f.id, f.input]));
  const dependedOn = new Set([...depsOf.values()].flat());
  const rows = new Map<string, InsertTaskRow>();
  for (const id of order) {
    const input = inputById.get(id)!;
    const deps = depsOf.get(id)!;
    const statusOf = (d: string): TaskStatus => (freshIds.has(d) ? rows.get(d)!.status : externalStatus.get(d)!);
    const broken = deps.find((d) => statusOf(d) === 'FAILED' || statusOf(d) === 'CANCELLED');
    const error: TaskError | null = broken
      ? {
          code: 'ORC_REGISTRY_DEPENDENCY_FAILED',
          message: `dependency ${broken} ${statusOf(broken) === 'CANCELLED' ? 'was cancelled' : 'failed'}`,
          retryable: false,
          attempt: 0,
          details: { dependency: broken },
        }
      : null;
    rows.set(id, {
      taskId: id,
      kind: input.kind,
      status: broken ? 'FAILED' : 'PENDING',
      payload: input.payload,
      priority: input.priority,
      maxAttempts: input.maxAttempts ?? defaultMaxAttempts,
      dependsOn: deps,
      pendingDependencies: deps.filter((d) => statusOf(d) !== 'COMPLETED').length,
      hasDependents: dependedOn.has(id),
      idempotencyKey: input.idempotencyKey ?? null,
      error,
      runAtMs: input.runAt ?? nowMs,
      timeoutMs: input.timeoutMs ?? null,
    });
  }
  const toInsert = fresh.map((f) => rows.get(f.id)!);
  const inserted = await insertTasks(tx, toInsert, nowMs);
  if (inserted.size < toInsert.length) throw new IdempotencyRace();

  const created = new Map([...inserted].map(([id, row]) => [id, toTask(row)]));
  const registrations: Registration[] = plan.map((step) => {
    if (step.kind === 'existing') return { task: toTask(step.row), created: false };
    if (step.kind === 'same-as') {
      const first = plan[step.index]!;
      return { task: first.kind === 'new' ? created.get(first.id)! : toTask((first as { row: TaskRow }).row), created: false };
    }
    return { task: created.get(step.id)!, created: true };
  });
  const wake = new Set(toInsert.filter((r) => r.status === 'PENDING' && r.pendingDependencies === 0).map((r) => r.kind));
  return { registrations, wake };
}

/** A repeat of a registration must ask for the same work: same kind, equal payload. */
function checkSameWork(key: string, taskId: string, existing: { kind: string; payload: JsonValue }, input: ValidNewTask): void {
  if (existing.kind !== input.kind) throw new IdempotencyConflictError(key, taskId, 'kind');
  if (!jsonEqual(existing.payload, input.payload)) throw new IdempotencyConflictError(key, taskId, 'payload');
}

/** Orders new tasks so each comes after its dependencies; a leftover means a cycle. */
function topologicalOrder(ids: readonly string[], depsOf: ReadonlyMap<string, readonly string[]>): string[] {
  const inBatch = new Set(ids);
  const waiting = new Map(ids.map((id) => [id, depsOf.get(id)!.filter((d) => inBatch.has(d)).length]));
  const dependents = new Map<string, string[]>();
  for (const id of ids) {
    for (const d of depsOf.get(id)!) if (inBatch.has(d)) dependents.set(d, [...(dependents.get(d) ?? []), id]);
  }
  const ready = ids.filter((id) => waiting.get(id) === 0);
  const order: string[] = [];
  while (ready.length) {
    const id = ready.shift()!;
    order.push(id);
    for (const next of dependents.get(id) ?? []) {
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (order.length < ids.length) throw new DependencyCycleError(ids.filter((id) => waiting.get(id)! > 0));
  return order;
}
