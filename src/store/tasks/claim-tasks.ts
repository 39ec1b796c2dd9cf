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
 * Params: $1 kind(s), $2 worker id, $3 limit, $4 now, $5 lease expiry.
 *
 * Strict priority, then FIFO (`seq`) within a priority, over the partial index
 * `tasks_claimable`, which holds only runnable tasks, read in its order and
 * stopped after `limit` rows. SKIP LOCKED lets many workers claim at once
 * without waiting on each other's rows.
 */
const PICK_ONE_KIND = `
  SELECT task_id FROM tasks
  WHERE kind = $1 AND status = 'PENDING' AND pending_dependencies = 0 AND run_at <= $4
  ORDER BY priority, seq
  LIMIT $3
  FOR UPDATE SKIP LOCKED`;

/**
 * Several kinds: "kind = ANY" would fetch and sort every runnable task of
 * those kinds on each claim, so each kind gets its own ordered scan stopped
 * after `limit` rows, and the best `limit` across kinds are taken. Rows locked
 * but not taken are released when the statement commits.
 */
const PICK_MANY_KINDS = `
  SELECT c.task_id FROM unnest($1::text[]) AS k(kind)
  CROSS JOIN LATERAL (
    SELECT task_id, priority, seq FROM tasks
    WHERE tasks.kind = k.kind AND status = 'PENDING' AND pending_dependencies = 0 AND run_at <= $4
    ORDER BY priority, seq
    LIMIT $3
    FOR UPDATE SKIP LOCKED
  ) c
  ORDER BY c.priority, c.seq
  LIMIT $3`;

/** The CTEs `picked` and `claimed` of a claim, for statements that claim among other things. */
export function claimCtes(kindCount: number): string {
  return `picked AS (${kindCount === 1 ? PICK_ONE_KIND : PICK_MANY_KINDS}
), claimed AS (
  UPDATE tasks t
  SET status = 'RUNNING', worker_id = $2, attempt = t.attempt + 1,
      lease_expires_at = $5, updated_at = $4
  FROM picked WHERE t.task_id = picked.task_id
  RETURNING ${taskColumns('t')}
)`;
}

/** Parameters $1..$5 of a claim. */
export function claimParams(p: ClaimParams): unknown[] {
  return [p.kinds.length === 1 ? p.kinds[0] : p.kinds, p.workerId, Math.max(0, p.limit), new Date(p.nowMs), new Date(p.nowMs + p.leaseMs)];
}

const CLAIM_ONE_KIND = `WITH ${claimCtes(1)} SELECT * FROM claimed`;
const CLAIM_MANY_KINDS = `WITH ${claimCtes(2)} SELECT * FROM claimed`;

export async function claimTasks(db: Queryable, p: ClaimParams): Promise<TaskRow[]> {
  if (p.limit <= 0 || p.kinds.length === 0) return [];
  const rows = await db.query<TaskRow>(p.kinds.length === 1 ? CLAIM_ONE_KIND : CLAIM_MANY_KINDS, claimParams(p));
  return rows.sort(byPriorityThenSeq);
}

/**
 * Of `kinds`, those with a task a claim would take now: one statement for
 * every waiting claimant, however many there are, each kind answered from the
 * head of its run of the `tasks_claimable` index.
 */
export async function runnableKinds(db: Queryable, kinds: readonly string[], nowMs: number): Promise<Set<string>> {
  if (kinds.length === 0) return new Set();
  const rows = await db.query<{ kind: string }>(
    `SELECT k.kind FROM unnest($1::text[]) AS k(kind)
     WHERE EXISTS (SELECT 1 FROM tasks WHERE tasks.kind = k.kind AND status = 'PENDING' AND pending_dependencies = 0 AND run_at <= $2)`,
    [kinds, new Date(nowMs)],
  );
  return new Set(rows.map((r) => r.kind));
}
