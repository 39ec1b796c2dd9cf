import type { TaskStatus } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

export interface Lease {
  taskId: string;
  attempt: number;
}

/**
 * Params: $1 jsonb [{task_id, attempt}], $2 now, $3 new expiry, $4 text[] the same ids
 * (so the planner looks them up by primary key rather than hashing every RUNNING task).
 * Extends the leases the caller still holds; the ids it returns are those.
 */
const RENEW_LEASES = `
UPDATE tasks t SET lease_expires_at = $3, updated_at = $2
FROM jsonb_to_recordset($1::jsonb) AS i(task_id text, attempt int)
WHERE t.task_id = ANY($4::text[]) AND t.task_id = i.task_id AND t.attempt = i.attempt AND t.status = 'RUNNING'
RETURNING t.task_id`;

export async function renewLeases(db: Queryable, leases: readonly Lease[], nowMs: number, leaseMs: number): Promise<Set<string>> {
  if (leases.length === 0) return new Set();
  const input = leases.map((l) => ({ task_id: l.taskId, attempt: l.attempt }));
  const rows = await db.query<{ task_id: string }>(RENEW_LEASES, [JSON.stringify(input), new Date(nowMs), new Date(nowMs + leaseMs), leases.map((l) => l.taskId)]);
  return new Set(rows.map((r) => r.task_id));
}

/**
 * Params: $1 jsonb [{task_id, attempt}], $2 now, $3 text[] the same ids.
 * Gives tasks back unfinished (a worker shutting down): PENDING at once, and
 * the attempt it used is given back too, so a shutdown never costs a retry.
 */
const RELEASE_TASKS = `
UPDATE tasks t
SET status = 'PENDING', worker_id = NULL, lease_expires_at = NULL, run_at = $2,
    max_attempts = t.max_attempts + 1, updated_at = $2
FROM jsonb_to_recordset($1::jsonb) AS i(task_id text, attempt int)
WHERE t.task_id = ANY($3::text[]) AND t.task_id = i.task_id AND t.attempt = i.attempt AND t.status = 'RUNNING'
RETURNING t.task_id, t.kind`;

export async function releaseTasks(db: Queryable, leases: readonly Lease[], nowMs: number): Promise<{ taskId: string; kind: string }[]> {
  if (leases.length === 0) return [];
  const input = leases.map((l) => ({ task_id: l.taskId, attempt: l.attempt }));
  const rows = await db.query<{ task_id: string; kind: string }>(RELEASE_TASKS, [JSON.stringify(input), new Date(nowMs), leases.map((l) => l.taskId)]);
  return rows.map((r) => ({ taskId: r.task_id, kind: r.kind }));
}

/**
 * Params: $1 jsonb [{task_id, attempt}], $2 the expiry to set, $3 text[] the same ids.
 * Ends leases early, as if their worker had gone silent: for a worker known to
 * be dead, so its tasks need not wait out the lease. The sweep that follows
 * decides what becomes of them, with its usual retry-or-fail rule.
 */
const EXPIRE_LEASES = `
UPDATE tasks t SET lease_expires_at = $2
FROM jsonb_to_recordset($1::jsonb) AS i(task_id text, attempt int)
WHERE t.task_id = ANY($3::text[]) AND t.task_id = i.task_id AND t.attempt = i.attempt AND t.status = 'RUNNING'
RETURNING t.task_id`;

export async function expireLeases(db: Queryable, leases: readonly Lease[], expiresAtMs: number): Promise<string[]> {
  if (leases.length === 0) return [];
  const input = leases.map((l) => ({ task_id: l.taskId, attempt: l.attempt }));
  const rows = await db.query<{ task_id: string }>(EXPIRE_LEASES, [JSON.stringify(input), new Date(expiresAtMs), leases.map((l) => l.taskId)]);
  return rows.map((r) => r.task_id);
}

export interface SweptTask {
  taskId: string;
  kind: string;
  status: TaskStatus;
  hasDependents: boolean;
}

/**
 * Params: $1 now, $2 batch size.
 * Tasks whose lease ran out go back to PENDING, or fail with a timeout when
 * that was their last attempt. SKIP LOCKED lets several monitors sweep at once.
 */
const SWEEP_EXPIRED = `
WITH expired AS (
  SELECT task_id FROM tasks
  WHERE status = 'RUNNING' AND lease_expires_at < $1
  ORDER BY lease_expires_at LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE tasks t
SET status = CASE WHEN t.attempt - t.attempt_base < t.max_attempts THEN 'PENDING' ELSE 'FAILED' END,
    worker_id = CASE WHEN t.attempt - t.attempt_base < t.max_attempts THEN NULL ELSE t.worker_id END,
    error = jsonb_build_object(
      'code', 'ORC_REGISTRY_TIMEOUT',
      'message', 'attempt ' || t.attempt || ' (worker ' || COALESCE(t.worker_id, 'unknown') || ') did not report before its lease expired',
      'retryable', true,
      'attempt', t.attempt),
    lease_expires_at = NULL, run_at = $1, updated_at = $1
FROM expired WHERE t.task_id = expired.task_id
RETURNING t.task_id, t.kind, t.status, t.has_dependents`;

export async function sweepExpiredLeases(db: Queryable, nowMs: number, batchSize: number): Promise<SweptTask[]> {
  const rows = await db.query<{ task_id: string; kind: string; status: TaskStatus; has_dependents: boolean }>(SWEEP_EXPIRED, [
    new Date(nowMs),
    batchSize,
  ]);
  return rows.map((r) => ({ taskId: r.task_id, kind: r.kind, status: r.status, hasDependents: r.has_dependents }));
}
