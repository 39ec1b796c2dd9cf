import type { JsonValue, Task, TaskError, TaskStatus } from '../../protocol/index.js';

/** A `tasks` row as both drivers return it (bigint columns may arrive as strings). */
export interface TaskRow {
  task_id: string;
  seq: string | number;
  kind: string;
  status: TaskStatus;
  payload: JsonValue;
  priority: number;
  result: JsonValue | null;
  error: TaskError | null;
  worker_id: string | null;
  attempt: number;
  attempt_base: number;
  max_attempts: number;
  depends_on: string[];
  pending_dependencies: number;
  has_dependents: boolean;
  idempotency_key: string | null;
  run_at: Date;
  lease_expires_at: Date | null;
  timeout_ms: number | null;
  created_at: Date;
  updated_at: Date;
  /** Set by listings that left a large result out. */
  result_omitted?: boolean;
}

/** The columns every task query returns, in one place so they cannot drift apart. */
export const TASK_COLUMNS = `task_id, seq, kind, status, payload, priority, result, error, worker_id, attempt,
  attempt_base, max_attempts, depends_on, pending_dependencies, has_dependents, idempotency_key,
  run_at, lease_expires_at, timeout_ms, created_at, updated_at`;

const ms = (d: Date | string) => (d instanceof Date ? d.getTime() : new Date(d).getTime());

export function toTask(row: TaskRow): Task {
  return {
    taskId: row.task_id,
    status: row.status,
    kind: row.kind,
    payload: row.payload,
    priority: Number(row.priority),
    result: row.result ?? null,
    error: row.error ?? null,
    workerId: row.worker_id,
    attempt: Number(row.attempt),
    dependsOn: row.depends_on ?? [],
    createdAt: ms(row.created_at),
    updatedAt: ms(row.updated_at),
    maxAttempts: Number(row.max_attempts),
    idempotencyKey: row.idempotency_key,
    runAt: ms(row.run_at),
    leaseExpiresAt: row.lease_expires_at === null ? null : ms(row.lease_expires_at),
    ...(row.result_omitted ? { resultOmitted: true as const } : {}),
    timeoutMs: row.timeout_ms === null || row.timeout_ms === undefined ? null : Number(row.timeout_ms),
  };
}
