import type { Queryable } from '../db.js';
import { byPriorityThenSeq, taskColumns, type TaskRow } from './row.js';

export interface ClaimParams {
  kinds: readonly string[];
  workerId: string;
  limit: number;
  nowMs: number;
  leaseMs: number;
}

/**
 * Params: $1 kinds, $2 worker id, $3 limit, $4 now, $5 lease expiry.
 *
 * Strict priority, then FIFO (`seq`) within a priority, over the partial index
 * `tasks_claimable`, which holds only runnable tasks. SKIP LOCKED lets many
 * workers claim at once without waiting on each other's rows.
 */
const CLAIM_TASKS = `
WITH picked AS (
  SELECT task_id FROM tasks
  WHERE status = 'PENDING' AND pending_dependencies = 0
    AND kind = ANY($1::text[]) AND run_at <= $4
  ORDER BY priority, seq
  LIMIT $3
  FOR UPDATE SKIP LOCKED
)
UPDATE tasks t
SET status = 'RUNNING', worker_id = $2, attempt = t.attempt + 1,
    lease_expires_at = $5, updated_at = $4
FROM picked WHERE t.task_id = picked.task_id
RETURNING ${taskColumns('t')}`;

export async function claimTasks(db: Queryable, p: ClaimParams): Promise<TaskRow[]> {
  if (p.limit <= 0 || p.kinds.length === 0) return [];
  const rows = await db.query<TaskRow>(CLAIM_TASKS, [p.kinds, p.workerId, p.limit, new Date(p.nowMs), new Date(p.nowMs + p.leaseMs)]);
  return rows.sort(byPriorityThenSeq);
}
