import type { JsonValue, TaskError, TaskStatus } from '../../protocol/index.js';
import type { Queryable } from '../db.js';
import { TASK_COLUMNS, type TaskRow } from './row.js';

export interface InsertTaskRow {
  taskId: string;
  kind: string;
  status: TaskStatus;
  payload: JsonValue;
  priority: number;
  maxAttempts: number;
  dependsOn: string[];
  pendingDependencies: number;
  /** Another task of the same registration depends on this one. */
  hasDependents: boolean;
  idempotencyKey: string | null;
  error: TaskError | null;
  runAtMs: number;
  timeoutMs: number | null;
}

/**
 * Params: $1 jsonb array of rows, $2 now.
 * Inserts in input order (so `seq` follows registration order) and skips rows
 * whose idempotency key another transaction committed meanwhile; returns the
 * rows actually inserted so the caller can tell.
 */
const INSERT_TASKS = `
INSERT INTO tasks (task_id, kind, status, payload, priority, max_attempts, depends_on,
                   pending_dependencies, has_dependents, idempotency_key, error, run_at, timeout_ms, created_at, updated_at)
SELECT r.task_id, r.kind, r.status, r.payload, r.priority, r.max_attempts,
       ARRAY(SELECT jsonb_array_elements_text(r.depends_on)), r.pending_dependencies, r.has_dependents,
       r.idempotency_key, r.error, r.run_at, r.timeout_ms, $2, $2
FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (
  task_id text, kind text, status text, payload jsonb, priority int, max_attempts int,
  depends_on jsonb, pending_dependencies int, has_dependents boolean, idempotency_key text, error jsonb,
  run_at timestamptz, timeout_ms int)
) WITH ORDINALITY AS r(task_id, kind, status, payload, priority, max_attempts,
  depends_on, pending_dependencies, has_dependents, idempotency_key, error, run_at, timeout_ms, ord)
ORDER BY r.ord
ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING ${TASK_COLUMNS}`;

/** Params: $1 jsonb array of {task_id, depends_on}. */
const INSERT_DEPENDENCIES = `
INSERT INTO task_dependencies (task_id, depends_on)
SELECT r.task_id, r.depends_on FROM jsonb_to_recordset($1::jsonb) AS r(task_id text, depends_on text)`;

export async function insertTasks(db: Queryable, rows: readonly InsertTaskRow[], nowMs: number): Promise<Map<string, TaskRow>> {
  if (rows.length === 0) return new Map();
  const input = rows.map((r) => ({
    task_id: r.taskId,
    kind: r.kind,
    status: r.status,
    payload: r.payload,
    priority: r.priority,
    max_attempts: r.maxAttempts,
    depends_on: r.dependsOn,
    pending_dependencies: r.pendingDependencies,
    has_dependents: r.hasDependents,
    idempotency_key: r.idempotencyKey,
    error: r.error,
    run_at: new Date(r.runAtMs).toISOString(),
    timeout_ms: r.timeoutMs,
  }));
  const inserted = await db.query<TaskRow>(INSERT_TASKS, [JSON.stringify(input), new Date(nowMs)]);
  const byId = new Map(inserted.map((r) => [r.task_id, r]));
  const edges = rows.filter((r) => byId.has(r.taskId)).flatMap((r) => r.dependsOn.map((d) => ({ task_id: r.taskId, depends_on: d })));
  if (edges.length) await db.query(INSERT_DEPENDENCIES, [JSON.stringify(edges)]);
  return byId;
}
