import type { JsonValue } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

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

/**
 * Params: $1 jsonb [{task_id, attempt, worker_id, result}], $2 now.
 * Accepts a result only from the attempt that holds the lease (the attempt
 * number is the fencing token); any other report is kept in late_reports and
 * changes nothing. Dependents are counted down in the same call (see
 * migration 0002 for why this is a function).
 */
const COMPLETE_TASKS = `SELECT report_task_id, report_accepted, woken_kind FROM complete_tasks($1::jsonb, $2)`;

export async function completeTasks(db: Queryable, reports: readonly CompletionReport[], nowMs: number): Promise<CompletionResult> {
  if (reports.length === 0) return { outcomes: [], wokenKinds: new Set() };
  const input = reports.map((r) => ({ task_id: r.taskId, attempt: r.attempt, worker_id: r.workerId, result: r.result }));
  const rows = await db.query<{ report_task_id: string | null; report_accepted: boolean | null; woken_kind: string | null }>(
    COMPLETE_TASKS,
    [JSON.stringify(input), new Date(nowMs)],
  );
  const outcomes: ReportOutcome[] = [];
  const wokenKinds = new Set<string>();
  for (const row of rows) {
    if (row.woken_kind !== null) wokenKinds.add(row.woken_kind);
    else outcomes.push({ taskId: row.report_task_id!, accepted: row.report_accepted === true });
  }
  return { outcomes, wokenKinds };
}
