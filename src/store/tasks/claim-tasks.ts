import type { JsonValue, Task } from '../../protocol/index.js';
import type { Queryable } from '../db.js';
import { completeAndClaimTasks } from './complete-and-claim.js';

export interface ClaimParams {
  kinds: readonly string[];
  workerId: string;
  limit: number;
  nowMs: number;
  leaseMs: number;
}

/**
 * Claims up to `limit` runnable tasks of `kinds`: a round of
 * complete_and_claim_tasks (migrations 12 and 13) with nothing to report.
 *
 * Strict priority, then FIFO (`seq`) within a priority, over the partial index
 * `tasks_claimable`, which holds only runnable tasks, read in its order and
 * stopped after `limit` rows. With several kinds, "kind = ANY" would fetch and
 * sort every runnable task of those kinds on each claim, so each kind gets its
 * own ordered scan stopped after `limit` rows, and the best `limit` across
 * kinds are taken; rows locked but not taken are released at commit. SKIP
 * LOCKED lets many workers claim at once without waiting on each other's rows.
 */
export async function claimTasks(db: Queryable, p: ClaimParams): Promise<Task[]> {
  if (p.limit <= 0 || p.kinds.length === 0) return [];
  return (await completeAndClaimTasks(db, [], p)).claimed;
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

/** A task a claim would take, as someone handing work out reads it. */
export interface RunnableTask {
  taskId: string;
  payload: JsonValue;
}

/**
 * Up to `limit` tasks of `kind` a claim would take now, in the order it would
 * take them, without taking them: the head of the kind's run of the
 * `tasks_claimable` index. However many tasks have finished, it reads only
 * the runnable ones.
 */
export async function runnableTasks(db: Queryable, kind: string, nowMs: number, limit: number): Promise<RunnableTask[]> {
  if (limit <= 0) return [];
  const rows = await db.query<{ task_id: string; payload: JsonValue }>(
    `SELECT task_id, payload FROM tasks
     WHERE kind = $1 AND status = 'PENDING' AND pending_dependencies = 0 AND run_at <= $2
     ORDER BY priority, seq LIMIT $3`,
    [kind, new Date(nowMs), limit],
  );
  return rows.map((r) => ({ taskId: r.task_id, payload: r.payload }));
}
