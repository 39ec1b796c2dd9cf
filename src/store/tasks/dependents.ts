import type { Queryable } from '../db.js';

export interface UnblockedTask {
  taskId: string;
  kind: string;
}

export interface FailedRoot {
  taskId: string;
  /** How the root ended, for the message: "failed" or "was cancelled". */
  outcome: string;
}

/**
 * Params: $1 jsonb [{task_id, outcome}], $2 now.
 * Fails every PENDING task that depends, directly or through others, on a
 * root, with an error naming the dependency it waited on.
 */
const FAIL_DEPENDENTS = `
WITH RECURSIVE roots AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(task_id text, outcome text)
), doomed(task_id, cause) AS (
  SELECT d.task_id, d.depends_on FROM task_dependencies d JOIN roots ON d.depends_on = roots.task_id
  UNION
  SELECT d.task_id, d.depends_on FROM task_dependencies d JOIN doomed ON d.depends_on = doomed.task_id
), first_cause AS (
  SELECT DISTINCT ON (task_id) task_id, cause FROM doomed ORDER BY task_id, cause
)
UPDATE tasks t
SET status = 'FAILED', lease_expires_at = NULL, updated_at = $2,
    error = jsonb_build_object(
      'code', 'ORC_REGISTRY_DEPENDENCY_FAILED',
      'message', 'dependency ' || f.cause || ' ' || COALESCE(roots.outcome, 'failed'),
      'retryable', false,
      'attempt', t.attempt,
      'details', jsonb_build_object('dependency', f.cause))
FROM first_cause f LEFT JOIN roots ON roots.task_id = f.cause
WHERE t.task_id = f.task_id AND t.status = 'PENDING'
RETURNING t.task_id`;

export async function failDependents(db: Queryable, roots: readonly FailedRoot[], nowMs: number): Promise<string[]> {
  if (roots.length === 0) return [];
  const input = roots.map((r) => ({ task_id: r.taskId, outcome: r.outcome }));
  const rows = await db.query<{ task_id: string }>(FAIL_DEPENDENTS, [JSON.stringify(input), new Date(nowMs)]);
  return rows.map((r) => r.task_id);
}

/**
 * Params: $1 text[] task ids.
 * Counts again the dependencies of tasks put back to PENDING by a redrive.
 * A dependency pruned from the table has finished long ago and counts as done.
 */
const RECOUNT_DEPENDENCIES = `
UPDATE tasks t
SET pending_dependencies = (
  SELECT count(*)::int FROM task_dependencies d JOIN tasks p ON p.task_id = d.depends_on
  WHERE d.task_id = t.task_id AND p.status <> 'COMPLETED')
WHERE t.task_id = ANY($1::text[])
RETURNING t.task_id, t.kind, t.pending_dependencies`;

export async function recountDependencies(db: Queryable, ids: readonly string[]): Promise<UnblockedTask[]> {
  if (ids.length === 0) return [];
  const rows = await db.query<{ task_id: string; kind: string; pending_dependencies: number }>(RECOUNT_DEPENDENCIES, [ids]);
  return rows.filter((r) => Number(r.pending_dependencies) === 0).map((r) => ({ taskId: r.task_id, kind: r.kind }));
}

/** Params: $1 text[] task ids. The dependencies of each that ended badly. */
const BROKEN_DEPENDENCIES = `
SELECT d.task_id, d.depends_on, p.status FROM task_dependencies d
JOIN tasks p ON p.task_id = d.depends_on
WHERE d.task_id = ANY($1::text[]) AND p.status IN ('FAILED', 'CANCELLED')`;

export async function findBrokenDependencies(
  db: Queryable,
  ids: readonly string[],
): Promise<{ taskId: string; dependsOn: string; status: string }[]> {
  const rows = await db.query<{ task_id: string; depends_on: string; status: string }>(BROKEN_DEPENDENCIES, [ids]);
  return rows.map((r) => ({ taskId: r.task_id, dependsOn: r.depends_on, status: r.status }));
}
