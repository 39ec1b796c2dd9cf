import type { Migration } from './migration.js';

/**
 * A worker's steady-state round trip as one function: claim the next tasks
 * and complete the finished ones, answering in one row.
 *
 * Before, the same work was one SQL statement around complete_tasks()
 * (migration 2), planned anew on every call and answering with a row per
 * report and a row per claimed task, each task a whole row turned into jsonb.
 * On PGlite, where the statement runs on the worker's own thread, that
 * planning and those rows cost about as much as the writes themselves. A
 * PL/pgSQL function keeps its statements' plans for the session, and the
 * answer here is one row: the reports refused (normally none), the kinds to
 * wake, and the claimed tasks as one JSON array, most urgent first, each task
 * the fields a worker is handed in a fixed order, its times in epoch
 * milliseconds.
 *
 * Guarantees, as before:
 * - Fencing: a report is accepted only from the attempt holding the lease
 *   (task RUNNING at that attempt); any other is kept in late_reports and
 *   changes nothing, alone, whatever else is in the batch.
 * - Dependents: completing a task counts it off its dependents in a statement
 *   that starts after the completion, so it sees dependents registered while
 *   the completion waited on the task's row lock (see migration 2).
 * - The claim runs first, in a snapshot taken before this completion, so a
 *   dependent the completion unblocks is left to the next claim, after its
 *   wake-up, as it was. It touches only runnable PENDING tasks and the
 *   completion only RUNNING ones and blocked dependents: neither sees the
 *   other's rows.
 * Everything is one statement, so one transaction: all of it commits or none.
 *
 * Params: reports jsonb [{task_id, attempt, worker_id, result}], now_at,
 * claim_kinds, claim_worker, claim_limit (0: complete only), lease_until.
 * Claimed task: [task_id, kind, payload, priority, result, error, worker_id,
 * attempt, depends_on, max_attempts, idempotency_key, run_at, lease_expires_at,
 * timeout_ms, created_at, updated_at] (times in epoch ms).
 */
export const migration: Migration = {
  version: 12,
  name: 'complete_and_claim',
  sql: `
CREATE FUNCTION complete_and_claim_tasks(reports jsonb, now_at timestamptz, claim_kinds text[], claim_worker text, claim_limit int, lease_until timestamptz)
RETURNS TABLE (late_task_ids text[], late_attempts int[], woken_kinds text[], claimed json)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  report_count int := jsonb_array_length(reports);
  report_ids text[];
  done_ids text[];
  done_attempts int[];
  parent_ids text[];
BEGIN
  late_task_ids := '{}';
  late_attempts := '{}';
  woken_kinds := '{}';

  IF claim_limit > 0 AND cardinality(claim_kinds) = 1 THEN
    WITH picked AS (
      SELECT t.task_id FROM tasks t
      WHERE t.kind = claim_kinds[1] AND t.status = 'PENDING' AND t.pending_dependencies = 0 AND t.run_at <= now_at
      ORDER BY t.priority, t.seq
      LIMIT claim_limit
      FOR UPDATE SKIP LOCKED
    ), taken AS (
      UPDATE tasks t
      SET status = 'RUNNING', worker_id = claim_worker, attempt = t.attempt + 1, lease_expires_at = lease_until, updated_at = now_at
      FROM picked WHERE t.task_id = picked.task_id
      RETURNING t.*
    )
    SELECT json_agg(json_build_array(c.task_id, c.kind, c.payload, c.priority, c.result, c.error, c.worker_id, c.attempt, c.depends_on,
             c.max_attempts, c.idempotency_key, floor(extract(epoch FROM c.run_at) * 1000), floor(extract(epoch FROM c.lease_expires_at) * 1000),
             c.timeout_ms, floor(extract(epoch FROM c.created_at) * 1000), floor(extract(epoch FROM c.updated_at) * 1000)) ORDER BY c.priority, c.seq)
    INTO claimed FROM taken c;
  ELSIF claim_limit > 0 AND cardinality(claim_kinds) > 1 THEN
    -- Each kind its own ordered scan stopped after claim_limit rows (see claimTasks).
    WITH picked AS (
      SELECT p.task_id FROM unnest(claim_kinds) AS k(kind)
      CROSS JOIN LATERAL (
        SELECT t.task_id, t.priority, t.seq FROM tasks t
        WHERE t.kind = k.kind AND t.status = 'PENDING' AND t.pending_dependencies = 0 AND t.run_at <= now_at
        ORDER BY t.priority, t.seq
        LIMIT claim_limit
        FOR UPDATE SKIP LOCKED
      ) p
      ORDER BY p.priority, p.seq
      LIMIT claim_limit
    ), taken AS (
      UPDATE tasks t
      SET status = 'RUNNING', worker_id = claim_worker, attempt = t.attempt + 1, lease_expires_at = lease_until, updated_at = now_at
      FROM picked WHERE t.task_id = picked.task_id
      RETURNING t.*
    )
    SELECT json_agg(json_build_array(c.task_id, c.kind, c.payload, c.priority, c.result, c.error, c.worker_id, c.attempt, c.depends_on,
             c.max_attempts, c.idempotency_key, floor(extract(epoch FROM c.run_at) * 1000), floor(extract(epoch FROM c.lease_expires_at) * 1000),
             c.timeout_ms, floor(extract(epoch FROM c.created_at) * 1000), floor(extract(epoch FROM c.updated_at) * 1000)) ORDER BY c.priority, c.seq)
    INTO claimed FROM taken c;
  END IF;

  IF report_count = 0 THEN
    RETURN NEXT;
    RETURN;
  END IF;

  report_ids := ARRAY(SELECT jsonb_array_elements(reports) ->> 'task_id');
  WITH input AS (
    SELECT * FROM jsonb_to_recordset(reports) AS r(task_id text, attempt int, result jsonb)
  ), done AS (
    UPDATE tasks t
    SET status = 'COMPLETED', result = i.result, error = NULL, lease_expires_at = NULL, updated_at = now_at
    FROM input i
    -- "= ANY(report_ids)" steers the planner to the primary key instead of
    -- hashing every RUNNING task.
    WHERE t.task_id = ANY(report_ids) AND t.task_id = i.task_id AND t.attempt = i.attempt AND t.status = 'RUNNING'
    RETURNING t.task_id, t.attempt, t.has_dependents
  )
  SELECT array_agg(done.task_id), array_agg(done.attempt), array_agg(done.task_id) FILTER (WHERE done.has_dependents)
  INTO done_ids, done_attempts, parent_ids FROM done;

  -- Every report accepted (the common case) leaves nothing late to record.
  IF coalesce(cardinality(done_ids), 0) < report_count THEN
    WITH late AS (
      INSERT INTO late_reports (task_id, attempt, worker_id, outcome, result, reported_at)
      SELECT i.task_id, i.attempt, i.worker_id, 'completed', i.result, now_at
      FROM jsonb_to_recordset(reports) AS i(task_id text, attempt int, worker_id text, result jsonb)
      WHERE NOT EXISTS (
        SELECT 1 FROM unnest(coalesce(done_ids, '{}'), coalesce(done_attempts, '{}')) AS d(task_id, attempt)
        WHERE d.task_id = i.task_id AND d.attempt = i.attempt
      )
      RETURNING task_id, attempt
    )
    SELECT coalesce(array_agg(late.task_id), '{}'), coalesce(array_agg(late.attempt), '{}') INTO late_task_ids, late_attempts FROM late;
  END IF;

  IF cardinality(parent_ids) > 0 THEN
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
    SELECT coalesce(array_agg(DISTINCT unblocked.kind), '{}') INTO woken_kinds FROM unblocked WHERE unblocked.pending_dependencies = 0;
  END IF;

  RETURN NEXT;
END
$$;
`,
};
