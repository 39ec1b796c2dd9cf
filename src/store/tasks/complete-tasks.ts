import type { JsonValue } from '../../protocol/index.js';
import type { Queryable } from '../db.js';
import { completeAndClaimTasks } from './complete-and-claim.js';

export interface CompletionReport {
  taskId: string;
  attempt: number;
  workerId: string | null;
  result: JsonValue | null;
}

export interface ReportOutcome {
  taskId: string;
  /** False when the attempt no longer held the lease: the report was kept as a late report. */
  accepted: boolean;
}

export interface CompletionResult {
  outcomes: ReportOutcome[];
  /** Kinds of dependents that became runnable: their workers need a wake-up. */
  wokenKinds: Set<string>;
}

/** Completes `reports` without claiming: a round of complete_and_claim_tasks with a claim of none. */
export async function completeTasks(db: Queryable, reports: readonly CompletionReport[], nowMs: number): Promise<CompletionResult> {
  if (reports.length === 0) return { outcomes: [], wokenKinds: new Set() };
  const { outcomes, wokenKinds } = await completeAndClaimTasks(db, reports, { kinds: [], workerId: '', limit: 0, nowMs, leaseMs: 0 });
  return { outcomes, wokenKinds };
}
