import type { JsonValue, Task, TaskError } from '../../protocol/index.js';
import type { Queryable } from '../db.js';
import type { ClaimParams } from './claim-tasks.js';
import type { CompletionReport, CompletionResult } from './complete-tasks.js';

/**
 * A worker's steady-state round trip: complete `reports` and claim up to
 * `claim.limit` tasks (0: complete only), through the store function of
 * migrations 12 and 13, whose plans the session keeps and whose answer is one row.
 * Params: $1 jsonb reports, $2 now, $3 kinds, $4 worker id, $5 limit, $6 lease expiry.
 */
const COMPLETE_AND_CLAIM = `SELECT late_task_ids, late_attempts, woken_kinds, claimed FROM complete_and_claim_tasks($1::jsonb, $2, $3::text[], $4, $5, $6)`;

interface RoundRow {
  late_task_ids: string[];
  late_attempts: number[];
  woken_kinds: string[];
  /** Null when nothing was claimed. */
  claimed: ClaimedTuple[] | null;
}

/** A claimed task as the function gives it (times in epoch ms); see migration 13. */
type ClaimedTuple = [
  taskId: string,
  kind: string,
  payload: JsonValue,
  priority: number,
  result: JsonValue | null,
  error: TaskError | null,
  attempt: number,
  dependsOn: string[] | null,
  maxAttempts: number,
  idempotencyKey: string | null,
  runAt: number,
  timeoutMs: number | null,
  createdAt: number,
];

/** The columns the claim itself set are the request's own values, so the function does not send them back. */
function claimedTask(t: ClaimedTuple, claim: ClaimParams): Task {
  return {
    taskId: t[0],
    status: 'RUNNING',
    kind: t[1],
    payload: t[2],
    priority: Number(t[3]),
    result: t[4] ?? null,
    error: t[5] ?? null,
    workerId: claim.workerId,
    attempt: Number(t[6]),
    dependsOn: t[7] ?? [],
    createdAt: Number(t[12]),
    updatedAt: claim.nowMs,
    maxAttempts: Number(t[8]),
    idempotencyKey: t[9],
    runAt: Number(t[10]),
    leaseExpiresAt: claim.nowMs + claim.leaseMs,
    timeoutMs: t[11] === null ? null : Number(t[11]),
  };
}

export interface RoundResult extends CompletionResult {
  /** Most urgent first, FIFO within a priority. */
  claimed: Task[];
}

/**
 * A worker that finishes a task usually wants the next one: completing and
 * claiming in one call saves it a round trip and a commit per task. The claim
 * runs first, so dependents this completion unblocks are left to the next
 * claim, after their wake-up. Accepts a result only from the attempt that
 * holds the lease (the attempt number is the fencing token); any other report
 * is kept as a late report and changes nothing.
 */
export async function completeAndClaimTasks(db: Queryable, reports: readonly CompletionReport[], claim: ClaimParams): Promise<RoundResult> {
  const input = reports.map((r) => ({ task_id: r.taskId, attempt: r.attempt, worker_id: r.workerId, result: r.result }));
  const limit = claim.kinds.length === 0 ? 0 : Math.max(0, claim.limit);
  const [row] = await db.query<RoundRow>(COMPLETE_AND_CLAIM, [
    JSON.stringify(input),
    new Date(claim.nowMs),
    claim.kinds,
    claim.workerId,
    limit,
    new Date(claim.nowMs + claim.leaseMs),
  ]);
  const late = new Set<string>();
  row!.late_task_ids.forEach((taskId, i) => late.add(`${taskId}\u0000${row!.late_attempts[i]}`));
  return {
    outcomes: reports.map((r) => ({ taskId: r.taskId, accepted: !late.has(`${r.taskId}\u0000${r.attempt}`) })),
    wokenKinds: new Set(row!.woken_kinds),
    claimed: (row!.claimed ?? []).map((t) => claimedTask(t, claim)),
  };
}
