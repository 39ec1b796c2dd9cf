import type { Queryable } from '../db.js';
import { leaseRowLock, type DriverLease } from './study-drivers.js';

export interface TestResultRow {
  taskId: string;
  studyId: string;
  key: string;
  generation: number;
  trial: number;
  success: boolean;
  value: number | null;
  metrics: Record<string, number>;
  reason: string | null;
  botId: string | null;
  at: number;
}

/**
 * Inserts the results of $1 (a jsonb array) when `where` holds. A result
 * is recorded once per task: collecting a generation again after a restart
 * finds the rows already there. Returns the task ids recorded now.
 */
const insertFrom = (where: string) => `
INSERT INTO test_results (task_id, study_id, key, generation, trial, success, value, metrics, reason, bot_id, at)
SELECT r.task_id, r.study_id, r.key, r.generation, r.trial, r.success, r.value, COALESCE(r.metrics, '{}'::jsonb), r.reason, r.bot_id, r.at
FROM jsonb_to_recordset($1::jsonb) AS r(task_id text, study_id text, key text, generation int, trial int, success boolean,
  value double precision, metrics jsonb, reason text, bot_id text, at timestamptz)
${where}
ON CONFLICT (task_id) DO NOTHING
RETURNING task_id`;

/** Params: $1 jsonb rows. */
const INSERT_RESULTS = insertFrom('');

export async function insertResults(db: Queryable, results: readonly TestResultRow[]): Promise<string[]> {
  if (results.length === 0) return [];
  const rows = await db.query<{ task_id: string }>(INSERT_RESULTS, [resultsJson(results)]);
  return rows.map((r) => r.task_id);
}

function resultsJson(results: readonly TestResultRow[]): string {
  return JSON.stringify(
    results.map((r) => ({
      task_id: r.taskId,
      study_id: r.studyId,
      key: r.key,
      generation: r.generation,
      trial: r.trial,
      success: r.success,
      value: r.value,
      metrics: r.metrics,
      reason: r.reason,
      bot_id: r.botId,
      at: new Date(r.at).toISOString(),
    })),
  );
}

/**
 * Params: $1 jsonb rows, $2 study, $3 owner, $4 epoch. INSERT_RESULTS behind
 * the study lease's fence, in one statement: the lease row is locked first
 * (a takeover waits until this commits), and nothing is inserted when
 * another epoch holds it. Returns whether the lease was held and the task
 * ids recorded now.
 */
const INSERT_RESULTS_FENCED = `
WITH fence AS (${leaseRowLock(2)}), recorded AS (${insertFrom('WHERE EXISTS (SELECT 1 FROM fence)')})
SELECT EXISTS (SELECT 1 FROM fence) AS held, COALESCE((SELECT json_agg(task_id) FROM recorded), '[]'::json) AS recorded`;

/**
 * `insertResults` behind the study lease's fence, as one statement rather
 * than a transaction of two: results are the study's most frequent write.
 * `held` false: another process drives the study now, and nothing was written.
 */
export async function insertResultsFenced(db: Queryable, lease: DriverLease, results: readonly TestResultRow[]): Promise<{ held: boolean; recorded: string[] }> {
  const [row] = await db.query<{ held: boolean; recorded: string[] }>(INSERT_RESULTS_FENCED, [resultsJson(results), lease.studyId, lease.ownerId, lease.epoch]);
  return { held: row?.held === true, recorded: row?.recorded ?? [] };
}

interface Row {
  task_id: string;
  study_id: string;
  key: string;
  generation: number;
  trial: number;
  success: boolean;
  value: number | null;
  metrics: Record<string, number>;
  reason: string | null;
  bot_id: string | null;
  at: Date;
}

/** Every result of a study in the order its evaluations were planned (trial order). */
export async function listResults(db: Queryable, studyId: string, options: { generation?: number } = {}): Promise<TestResultRow[]> {
  const rows = await db.query<Row>(
    options.generation === undefined
      ? `SELECT * FROM test_results WHERE study_id = $1 ORDER BY trial, task_id`
      : `SELECT * FROM test_results WHERE study_id = $1 AND generation = $2 ORDER BY trial, task_id`,
    options.generation === undefined ? [studyId] : [studyId, options.generation],
  );
  return rows.map(toResult);
}

/** The latest `limit` results of a study, oldest first: what a chart of evaluations over time draws. */
export async function listRecentResults(db: Queryable, studyId: string, limit: number): Promise<TestResultRow[]> {
  const rows = await db.query<Row>(`SELECT * FROM (SELECT * FROM test_results WHERE study_id = $1 ORDER BY at DESC, task_id LIMIT $2) r ORDER BY at, task_id`, [studyId, limit]);
  return rows.map(toResult);
}

/**
 * Params: $1 study, $2 first trial counted. Each tested combination's
 * results from that trial on, and how many succeeded with a value (NaN
 * and infinities are no value), as the scorer counts them.
 */
const COUNT_BY_KEY = `
SELECT key, count(*)::int AS tests,
  (count(*) FILTER (WHERE success AND value IS NOT NULL AND value NOT IN ('NaN', 'Infinity', '-Infinity')))::int AS successes
FROM test_results WHERE study_id = $1 AND generation >= 0 AND trial >= $2
GROUP BY key`;

export async function countResultsByKey(db: Queryable, studyId: string, fromTrial: number): Promise<Map<string, { tests: number; successes: number }>> {
  const rows = await db.query<{ key: string; tests: number; successes: number }>(COUNT_BY_KEY, [studyId, fromTrial]);
  return new Map(rows.map((r) => [r.key, { tests: Number(r.tests), successes: Number(r.successes) }]));
}

function toResult(r: Row): TestResultRow {
  return {
    taskId: r.task_id,
    studyId: r.study_id,
    key: r.key,
    generation: Number(r.generation),
    trial: Number(r.trial),
    success: r.success,
    value: r.value === null ? null : Number(r.value),
    metrics: r.metrics,
    reason: r.reason,
    botId: r.bot_id,
    at: new Date(r.at).getTime(),
  };
}
