import type { TaskStatus } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

export interface Reassigned {
  taskId: string;
  previousKind: string;
  previousStatus: TaskStatus;
  attempt: number;
  workerId: string | null;
}

/**
 * Params: $1 text[] task ids, $2 the new kind, $3 now, $4 text[] kinds the tasks must have now.
 * Moves unfinished tasks to another kind, PENDING: how work assigned to one
 * worker is handed to another. A RUNNING attempt loses its lease, so its
 * report is refused by the fence, and gets its attempt back, as a release
 * does: it did not fail, it was taken away. Tasks whose kind changed meanwhile
 * (another assigner got there first) are left alone.
 */
const REASSIGN_TASKS = `
WITH target AS (
  SELECT task_id, kind, status, attempt, worker_id FROM tasks
  WHERE task_id = ANY($1::text[]) AND kind = ANY($4::text[]) AND status IN ('PENDING', 'RUNNING')
  FOR UPDATE
)
UPDATE tasks t
SET kind = $2, status = 'PENDING', worker_id = NULL, lease_expires_at = NULL, updated_at = $3,
    max_attempts = CASE WHEN target.status = 'RUNNING' THEN t.max_attempts + 1 ELSE t.max_attempts END
FROM target WHERE t.task_id = target.task_id
RETURNING t.task_id, target.kind AS previous_kind, target.status AS previous_status, target.attempt, target.worker_id`;

export async function reassignTasks(db: Queryable, taskIds: readonly string[], kind: string, fromKinds: readonly string[], nowMs: number): Promise<Reassigned[]> {
  if (taskIds.length === 0) return [];
  const rows = await db.query<{ task_id: string; previous_kind: string; previous_status: TaskStatus; attempt: number; worker_id: string | null }>(
    REASSIGN_TASKS,
    [taskIds, kind, new Date(nowMs), fromKinds],
  );
  return rows.map((r) => ({
    taskId: r.task_id,
    previousKind: r.previous_kind,
    previousStatus: r.previous_status,
    attempt: Number(r.attempt),
    workerId: r.worker_id,
  }));
}

/**
 * Params: $1 text[] task ids, $2 text[] their new kinds, $3 now, $4 text[] kinds the tasks must have now.
 * Hands waiting tasks out, each to its own kind, in one statement: how the
 * fleet gives a round's tests to many bots at once. Only PENDING tasks still
 * of `fromKinds` move; the others (claimed, cancelled, moved meanwhile) stay.
 */
const ASSIGN_TASKS = `
UPDATE tasks t SET kind = a.kind, updated_at = $3
FROM unnest($1::text[], $2::text[]) AS a(task_id, kind)
WHERE t.task_id = a.task_id AND t.kind = ANY($4::text[]) AND t.status = 'PENDING'
RETURNING t.task_id, t.kind`;

export async function assignTasks(db: Queryable, assignments: readonly { taskId: string; kind: string }[], fromKinds: readonly string[], nowMs: number): Promise<{ taskId: string; kind: string }[]> {
  if (assignments.length === 0) return [];
  const rows = await db.query<{ task_id: string; kind: string }>(ASSIGN_TASKS, [assignments.map((a) => a.taskId), assignments.map((a) => a.kind), new Date(nowMs), fromKinds]);
  return rows.map((r) => ({ taskId: r.task_id, kind: r.kind }));
}

/** Params: $1 text[] kinds. Unfinished tasks per kind and status: a worker's load. */
const COUNT_UNFINISHED_BY_KIND = `
SELECT kind, status, count(*)::int AS count FROM tasks
WHERE kind = ANY($1::text[]) AND status IN ('PENDING', 'RUNNING')
GROUP BY kind, status`;

export async function countUnfinishedByKind(db: Queryable, kinds: readonly string[]): Promise<{ kind: string; status: TaskStatus; count: number }[]> {
  if (kinds.length === 0) return [];
  const rows = await db.query<{ kind: string; status: TaskStatus; count: number }>(COUNT_UNFINISHED_BY_KIND, [kinds]);
  return rows.map((r) => ({ kind: r.kind, status: r.status, count: Number(r.count) }));
}
