import type { TaskStatus } from '../../protocol/index.js';
import type { Queryable } from '../db.js';
import { TASK_COLUMNS, type TaskRow } from './row.js';

/** Params: $1 text[] idempotency keys. */
const FIND_BY_IDEMPOTENCY_KEYS = `SELECT ${TASK_COLUMNS} FROM tasks WHERE idempotency_key = ANY($1::text[])`;

export async function findTasksByIdempotencyKeys(db: Queryable, keys: readonly string[]): Promise<TaskRow[]> {
  if (keys.length === 0) return [];
  return db.query<TaskRow>(FIND_BY_IDEMPOTENCY_KEYS, [keys]);
}

/**
 * Params: $1 text[] task ids that new tasks will depend on.
 *
 * Marks them as having dependents and returns their status. The UPDATE takes
 * each row's lock, so a completion of the same task either finished before
 * (we read COMPLETED and count nothing) or waits for our commit and then sees
 * `has_dependents` and our dependency rows: no dependent is ever left waiting
 * on a task that completed in between.
 */
const MARK_DEPENDED_ON = `
UPDATE tasks SET has_dependents = true
WHERE task_id = ANY($1::text[])
RETURNING task_id, status`;

export async function markDependedOn(db: Queryable, ids: readonly string[]): Promise<Map<string, TaskStatus>> {
  if (ids.length === 0) return new Map();
  const rows = await db.query<{ task_id: string; status: TaskStatus }>(MARK_DEPENDED_ON, [ids]);
  return new Map(rows.map((r) => [r.task_id, r.status]));
}
