import type { Queryable } from '../db.js';

/**
 * Params: $1 task id, $2 now.
 * Puts a FAILED or CANCELLED task back to PENDING with a fresh attempt budget,
 * together with the dependents that failed only because of it (and theirs).
 * `attempt` keeps growing: `attempt_base` marks where the new budget starts.
 */
const REDRIVE_TASK = `
WITH RECURSIVE chain(task_id) AS (
  SELECT $1::text
  UNION
  SELECT d.task_id FROM task_dependencies d
  JOIN chain ON d.depends_on = chain.task_id
  JOIN tasks dep ON dep.task_id = d.task_id
  WHERE dep.status = 'FAILED' AND dep.error ->> 'code' = 'ORC_REGISTRY_DEPENDENCY_FAILED'
)
UPDATE tasks t
SET status = 'PENDING', attempt_base = t.attempt, error = NULL, result = NULL, worker_id = NULL,
    lease_expires_at = NULL, run_at = $2, updated_at = $2
FROM chain WHERE t.task_id = chain.task_id AND t.status IN ('FAILED', 'CANCELLED')
RETURNING t.task_id`;

export async function redriveTask(db: Queryable, taskId: string, nowMs: number): Promise<string[]> {
  const rows = await db.query<{ task_id: string }>(REDRIVE_TASK, [taskId, new Date(nowMs)]);
  return rows.map((r) => r.task_id);
}
