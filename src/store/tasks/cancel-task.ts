import type { TaskError, TaskStatus } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

export interface CancelOutcome {
  previousStatus: TaskStatus;
  workerId: string | null;
  attempt: number;
  hasDependents: boolean;
}

/**
 * Params: $1 task id, $2 now, $3 error.
 * A PENDING or RUNNING task becomes CANCELLED at once; a running attempt's
 * later report is then refused by the fence, and its worker learns of the
 * cancellation from the bus or its next lease renewal.
 */
const CANCEL_TASK = `
WITH prev AS (
  SELECT task_id, status FROM tasks WHERE task_id = $1 AND status IN ('PENDING', 'RUNNING') FOR UPDATE
)
UPDATE tasks t SET status = 'CANCELLED', lease_expires_at = NULL, error = $3::jsonb, updated_at = $2
FROM prev WHERE t.task_id = prev.task_id
RETURNING prev.status AS previous_status, t.worker_id, t.attempt, t.has_dependents`;

export async function cancelTask(db: Queryable, taskId: string, nowMs: number, error: TaskError): Promise<CancelOutcome | null> {
  const rows = await db.query<{ previous_status: TaskStatus; worker_id: string | null; attempt: number; has_dependents: boolean }>(
    CANCEL_TASK,
    [taskId, new Date(nowMs), JSON.stringify(error)],
  );
  const row = rows[0];
  if (!row) return null;
  return { previousStatus: row.previous_status, workerId: row.worker_id, attempt: Number(row.attempt), hasDependents: row.has_dependents };
}
