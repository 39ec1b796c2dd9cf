import type { JsonValue } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

export interface CompletionReport {
  taskId: string;
  attempt: number;
  workerId: string | null;
  result: JsonValue | null;
}

export interface ReportOutcome {
  taskId: string;
  /** False when the attempt no longer held the lease: the report was kept as a late report. */
  accepted: boolean;
  hasDependents: boolean;
}

/**
 * Params: $1 jsonb [{task_id, attempt, worker_id, result}], $2 now.
 * Accepts a result only from the attempt that holds the lease (the attempt
 * number is the fencing token); any other report is kept in late_reports and
 * changes nothing.
 */
const COMPLETE_TASKS = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(task_id text, attempt int, worker_id text, result jsonb)
), done AS (
  UPDATE tasks t
  SET status = 'COMPLETED', result = i.result, error = NULL, lease_expires_at = NULL, updated_at = $2
  FROM input i
  WHERE t.task_id = i.task_id AND t.attempt = i.attempt AND t.status = 'RUNNING'
  RETURNING t.task_id, t.has_dependents
), late AS (
  INSERT INTO late_reports (task_id, attempt, worker_id, outcome, result, reported_at)
  SELECT i.task_id, i.attempt, i.worker_id, 'completed', i.result, $2 FROM input i
  WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.task_id = i.task_id)
  RETURNING task_id
)
SELECT task_id, has_dependents, true AS accepted FROM done
UNION ALL
SELECT task_id, false, false FROM late`;

export async function completeTasks(db: Queryable, reports: readonly CompletionReport[], nowMs: number): Promise<ReportOutcome[]> {
  if (reports.length === 0) return [];
  const input = reports.map((r) => ({ task_id: r.taskId, attempt: r.attempt, worker_id: r.workerId, result: r.result }));
  const rows = await db.query<{ task_id: string; has_dependents: boolean; accepted: boolean }>(COMPLETE_TASKS, [
    JSON.stringify(input),
    new Date(nowMs),
  ]);
  return rows.map((r) => ({ taskId: r.task_id, accepted: r.accepted, hasDependents: r.has_dependents }));
}
