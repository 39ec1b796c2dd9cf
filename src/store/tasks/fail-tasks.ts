import type { TaskError, TaskStatus } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

export interface FailureReport {
  taskId: string;
  attempt: number;
  workerId: string | null;
  error: TaskError;
  /** When a retry may run, if the task has attempts left and the error allows one. */
  retryAtMs: number;
  /** The attempt ran past its time limit: counted on the task for the monitor. */
  timedOut: boolean;
}

export interface FailureOutcome {
  taskId: string;
  accepted: boolean;
  /** PENDING when it will be tried again, FAILED when it failed for good. */
  status: TaskStatus | null;
  kind: string | null;
  hasDependents: boolean;
}

/**
 * Params: $1 jsonb [{task_id, attempt, worker_id, error, retryable, retry_at, timed_out}], $2 now,
 * $3 text[] the same task ids (so the planner looks them up by primary key).
 * A retryable error with attempts left puts the task back to PENDING after its
 * backoff; otherwise it fails with this error as its last.
 */
const FAIL_TASKS = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb)
    AS r(task_id text, attempt int, worker_id text, error jsonb, retryable boolean, retry_at timestamptz, timed_out boolean)
), failed AS (
  UPDATE tasks t
  SET status = CASE WHEN i.retryable AND t.attempt - t.attempt_base < t.max_attempts THEN 'PENDING' ELSE 'FAILED' END,
      run_at = CASE WHEN i.retryable AND t.attempt - t.attempt_base < t.max_attempts THEN i.retry_at ELSE t.run_at END,
      worker_id = CASE WHEN i.retryable AND t.attempt - t.attempt_base < t.max_attempts THEN NULL ELSE t.worker_id END,
      error = i.error, lease_expires_at = NULL, updated_at = $2,
      timed_out_attempts = t.timed_out_attempts + CASE WHEN i.timed_out THEN 1 ELSE 0 END
  FROM input i
  WHERE t.task_id = ANY($3::text[]) AND t.task_id = i.task_id AND t.attempt = i.attempt AND t.status = 'RUNNING'
  RETURNING t.task_id, t.attempt, t.status, t.kind, t.has_dependents
), late AS (
  INSERT INTO late_reports (task_id, attempt, worker_id, outcome, error, reported_at)
  SELECT i.task_id, i.attempt, i.worker_id, 'failed', i.error, $2 FROM input i
  WHERE NOT EXISTS (SELECT 1 FROM failed WHERE failed.task_id = i.task_id AND failed.attempt = i.attempt)
  RETURNING task_id, attempt
)
SELECT i.task_id, f.status, f.kind, COALESCE(f.has_dependents, false) AS has_dependents, f.task_id IS NOT NULL AS accepted
FROM input i LEFT JOIN failed f ON f.task_id = i.task_id AND f.attempt = i.attempt`;

export async function failTasks(db: Queryable, reports: readonly FailureReport[], nowMs: number): Promise<FailureOutcome[]> {
  if (reports.length === 0) return [];
  const input = reports.map((r) => ({
    task_id: r.taskId,
    attempt: r.attempt,
    worker_id: r.workerId,
    error: r.error,
    retryable: r.error.retryable,
    retry_at: new Date(r.retryAtMs).toISOString(),
    timed_out: r.timedOut,
  }));
  const rows = await db.query<{ task_id: string; status: TaskStatus | null; kind: string | null; has_dependents: boolean; accepted: boolean }>(
    FAIL_TASKS,
    [JSON.stringify(input), new Date(nowMs), reports.map((r) => r.taskId)],
  );
  return rows.map((r) => ({ taskId: r.task_id, accepted: r.accepted, status: r.status, kind: r.kind, hasDependents: r.has_dependents }));
}
