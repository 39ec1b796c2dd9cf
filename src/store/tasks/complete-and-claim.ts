import type { Queryable } from '../db.js';
import { claimCtes, claimParams, type ClaimParams } from './claim-tasks.js';
import type { CompletionReport, CompletionResult } from './complete-tasks.js';
import { byPriorityThenSeq, type TaskRow } from './row.js';

/**
 * Params: $1 kind(s), $2 worker id, $3 limit, $4 now, $5 lease expiry,
 * $6 jsonb reports [{task_id, attempt, worker_id, result}].
 *
 * A worker that finishes a task usually wants the next one: completing and
 * claiming in one statement saves it a round trip and a commit per task.
 * The two touch disjoint rows (completion: RUNNING tasks and their PENDING
 * dependents, which this snapshot still sees as blocked; claim: runnable
 * PENDING tasks), so neither can see or undo the other's work. Dependents
 * this completion unblocks are claimed by the next claim, after the wake-up.
 */
const completeAndClaimSql = (kindCount: number) => `
WITH reported AS MATERIALIZED (
  SELECT report_task_id, report_accepted, woken_kind FROM complete_tasks($6::jsonb, $4)
), ${claimCtes(kindCount)}
SELECT r.report_task_id, r.report_accepted, r.woken_kind, NULL::jsonb AS task FROM reported r
UNION ALL
SELECT NULL, NULL, NULL, to_jsonb(c) FROM claimed c`;

const ONE_KIND = completeAndClaimSql(1);
const MANY_KINDS = completeAndClaimSql(2);

export async function completeAndClaimTasks(
  db: Queryable,
  reports: readonly CompletionReport[],
  claim: ClaimParams,
): Promise<CompletionResult & { claimed: TaskRow[] }> {
  const input = reports.map((r) => ({ task_id: r.taskId, attempt: r.attempt, worker_id: r.workerId, result: r.result }));
  const rows = await db.query<{ report_task_id: string | null; report_accepted: boolean | null; woken_kind: string | null; task: TaskRow | null }>(
    claim.kinds.length === 1 ? ONE_KIND : MANY_KINDS,
    [...claimParams(claim), JSON.stringify(input)],
  );
  const result: CompletionResult & { claimed: TaskRow[] } = { outcomes: [], wokenKinds: new Set(), claimed: [] };
  for (const row of rows) {
    if (row.task) result.claimed.push(row.task);
    else if (row.woken_kind !== null) result.wokenKinds.add(row.woken_kind);
    else result.outcomes.push({ taskId: row.report_task_id!, accepted: row.report_accepted === true });
  }
  result.claimed.sort(byPriorityThenSeq);
  return result;
}
