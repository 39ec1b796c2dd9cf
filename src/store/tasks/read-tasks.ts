import type { TaskStatus } from '../../protocol/index.js';
import type { Queryable } from '../db.js';
import { TASK_COLUMNS, type TaskRow } from './row.js';

/** Params: $1 text[] task ids. */
const GET_TASKS = `SELECT ${TASK_COLUMNS} FROM tasks WHERE task_id = ANY($1::text[])`;

export async function getTasks(db: Queryable, ids: readonly string[]): Promise<TaskRow[]> {
  if (ids.length === 0) return [];
  return db.query<TaskRow>(GET_TASKS, [ids]);
}

export interface ListTasksParams {
  statuses?: readonly TaskStatus[];
  kinds?: readonly string[];
  limit: number;
  offset: number;
  /** Only tasks registered after (in `asc` order) or before (in `desc`) the task of this sequence number: the next page's cursor. */
  afterSeq?: number;
  /** Newest first by default. */
  order?: 'asc' | 'desc';
  /** Results larger than this, encoded, are left out of the rows (`result_omitted`). */
  maxResultBytes: number;
  /** Only tasks whose id starts with this (matched literally: `%` and `_` are no wildcards). */
  idPrefix?: string;
}

/** `text` as a LIKE pattern that matches itself only, with `\` as the escape. */
export const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Params: $1 statuses or null, $2 kinds or null, $3 limit, $4 offset, $5 largest result listed, $6 cursor's seq or null,
 * $7 LIKE pattern of task ids or null.
 * A cursor pages by `seq` (the primary key's order), so tasks registered
 * while someone pages neither repeat nor push others off a page, as they do
 * with an offset.
 * A page of 50 tasks with results of megabytes each would take hundreds of
 * megabytes to list: the server measures each result and sends only the small
 * ones; reading one task gives its result whole.
 */
const listTasksSql = (order: 'asc' | 'desc') => `
SELECT ${TASK_COLUMNS.replace(/\bresult\b/, 'CASE WHEN s.result_bytes <= $5 THEN t.result END AS result')},
  COALESCE(s.result_bytes > $5, false) AS result_omitted
FROM tasks t CROSS JOIN LATERAL (SELECT octet_length(t.result::text) AS result_bytes) s
WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
  AND ($2::text[] IS NULL OR kind = ANY($2::text[]))
  AND ($6::bigint IS NULL OR seq ${order === 'asc' ? '>' : '<'} $6::bigint)
  AND ($7::text IS NULL OR task_id LIKE $7::text ESCAPE '\\')
ORDER BY seq ${order === 'asc' ? 'ASC' : 'DESC'}
LIMIT $3 OFFSET $4`;

export async function listTasks(db: Queryable, p: ListTasksParams): Promise<TaskRow[]> {
  const statuses = p.statuses?.length ? p.statuses : null;
  const kinds = p.kinds?.length ? p.kinds : null;
  const ids = p.idPrefix === undefined ? null : `${likeLiteral(p.idPrefix)}%`;
  return db.query<TaskRow>(listTasksSql(p.order ?? 'desc'), [statuses, kinds, p.limit, p.offset, p.maxResultBytes, p.afterSeq ?? null, ids]);
}

export interface StatusPriorityCount {
  status: TaskStatus;
  priority: number;
  count: number;
}

const COUNT_TASKS = `SELECT status, priority, count(*)::int AS count FROM tasks GROUP BY status, priority ORDER BY status, priority`;

/** Tasks by kind and status, and the rows of the record tables an operator watches grow. */
export async function countTasksByKind(db: Queryable): Promise<{ kind: string; status: TaskStatus; count: number }[]> {
  const rows = await db.query<{ kind: string; status: TaskStatus; count: number }>(`SELECT kind, status, count(*)::int AS count FROM tasks GROUP BY kind, status ORDER BY kind, status`);
  return rows.map((r) => ({ kind: r.kind, status: r.status, count: Number(r.count) }));
}

export async function countRecords(db: Queryable): Promise<{ deadLetters: number; lateReports: number }> {
  const rows = await db.query<{ dead: number; late: number }>(`SELECT (SELECT count(*) FROM dead_letters)::int AS dead, (SELECT count(*) FROM late_reports)::int AS late`);
  return { deadLetters: Number(rows[0]!.dead), lateReports: Number(rows[0]!.late) };
}

export async function countTasks(db: Queryable): Promise<StatusPriorityCount[]> {
  const rows = await db.query<{ status: TaskStatus; priority: number; count: number }>(COUNT_TASKS);
  return rows.map((r) => ({ status: r.status, priority: Number(r.priority), count: Number(r.count) }));
}

/**
 * Params: $1 cutoff, $2 batch size.
 * Deletes finished tasks last touched before the cutoff, a batch at a time so
 * a large prune never holds long locks. Their dependency rows go with them.
 */
const PRUNE_FINISHED = `
DELETE FROM tasks WHERE task_id IN (
  SELECT task_id FROM tasks
  WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND updated_at < $1
  LIMIT $2)`;

const PRUNE_LATE_REPORTS = `DELETE FROM late_reports WHERE reported_at < $1`;

export async function pruneFinishedTasks(db: Queryable, cutoffMs: number, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await db.query<{ task_id: string }>(`${PRUNE_FINISHED} RETURNING task_id`, [new Date(cutoffMs), batchSize]);
    total += rows.length;
    if (rows.length < batchSize) break;
  }
  await db.query(PRUNE_LATE_REPORTS, [new Date(cutoffMs)]);
  return total;
}

export interface LateReportRow {
  task_id: string;
  attempt: number;
  worker_id: string | null;
  outcome: 'completed' | 'failed';
  result: unknown;
  error: unknown;
  reported_at: Date;
}

const LATE_REPORTS = `
SELECT task_id, attempt, worker_id, outcome, result, error, reported_at FROM late_reports
WHERE task_id = $1 ORDER BY id`;

export async function getLateReports(db: Queryable, taskId: string): Promise<LateReportRow[]> {
  return db.query<LateReportRow>(LATE_REPORTS, [taskId]);
}
