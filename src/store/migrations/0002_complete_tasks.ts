import type { Migration } from './migration.js';

/**
 * Completion in one round trip, without losing a dependent.
 *
 * A completion must (1) accept the reports of attempts that hold the lease,
 * keeping the others as late reports, and (2) count the completed tasks off
 * their dependents. (2) must see dependents registered while (1) waited on the
 * completed row's lock (a registration locks the tasks it depends on), so it
 * needs a snapshot taken after (1). Inside a VOLATILE function each statement
 * takes a fresh snapshot, while the function as a whole is one statement and
 * one transaction: the same guarantee as BEGIN; (1); (2); COMMIT, in one round
 * trip instead of four. The registry's benchmark shows the difference.
 *
 * Params: reports jsonb [{task_id, attempt, worker_id, result}], now_at.
 * Returns one row per report (accepted or late) and one per dependent that
 * became runnable (woken_kind set).
 */
export const migration: Migration = {
  version: 2,
  name: 'complete_tasks',
  sql: `
CREATE FUNCTION complete_tasks(reports jsonb, now_at timestamptz)
RETURNS TABLE (report_task_id text, report_accepted boolean, report_has_dependents boolean, woken_kind text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  report_ids text[] := ARRAY(SELECT jsonb_array_elements(reports) ->> 'task_id');
  accepted_ids text[]; -- 'task_id#attempt' of the reports accepted
  parent_ids text[];
BEGIN
  WITH input AS (
    SELECT * FROM jsonb_to_recordset(reports) AS r(task_id text, attempt int, worker_id text, result jsonb)
  ), done AS (
    UPDATE tasks t
    SET status = 'COMPLETED', result = i.result, error = NULL, lease_expires_at = NULL, updated_at = now_at
    FROM input i
    -- "= ANY(report_ids)" steers the planner to the primary key instead of
    -- hashing every RUNNING task.
    WHERE t.task_id = ANY(report_ids) AND t.task_id = i.task_id AND t.attempt = i.attempt AND t.status = 'RUNNING'
    RETURNING t.task_id, t.attempt, t.has_dependents
  ), late AS (
    INSERT INTO late_reports (task_id, attempt, worker_id, outcome, result, reported_at)
    SELECT i.task_id, i.attempt, i.worker_id, 'completed', i.result, now_at FROM input i
    WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.task_id = i.task_id AND done.attempt = i.attempt)
    RETURNING task_id
  )
  SELECT COALESCE((SELECT array_agg(done.task_id || '#' || done.attempt) FROM done), '{}'),
         COALESCE((SELECT array_agg(done.task_id) FROM done WHERE done.has_dependents), '{}')
  INTO accepted_ids, parent_ids;

  RETURN QUERY SELECT i.task_id, (i.task_id || '#' || i.attempt) = ANY(accepted_ids), i.task_id = ANY(parent_ids), NULL::text
    FROM jsonb_to_recordset(reports) AS i(task_id text, attempt int);

  IF cardinality(parent_ids) > 0 THEN
    RETURN QUERY
    WITH counted AS (
      SELECT d.task_id, count(*)::int AS n FROM task_dependencies d
      WHERE d.depends_on = ANY(parent_ids) GROUP BY d.task_id
    ), unblocked AS (
      UPDATE tasks t
      SET pending_dependencies = t.pending_dependencies - counted.n, updated_at = now_at
      FROM counted
      WHERE t.task_id = counted.task_id AND t.status = 'PENDING'
      RETURNING t.kind, t.pending_dependencies
    )
    SELECT NULL::text, NULL::boolean, NULL::boolean, unblocked.kind FROM unblocked WHERE unblocked.pending_dependencies = 0;
  END IF;
END
$$;
`,
};
