import type { JsonValue, Variables } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

/** One planned evaluation of a generation. */
export interface PlannedTest {
  key: string;
  trial: number;
  taskId: string;
}

export interface GenerationRow {
  studyId: string;
  generation: number;
  /** `testing` until every planned test has a result, then `scored`. */
  state: string;
  tests: PlannedTest[];
  stats: JsonValue | null;
  createdAt: number;
  scoredAt: number | null;
}

interface Row {
  study_id: string;
  generation: number;
  state: string;
  tests: PlannedTest[];
  stats: JsonValue | null;
  created_at: Date;
  scored_at: Date | null;
}

const toGeneration = (r: Row): GenerationRow => ({
  studyId: r.study_id,
  generation: Number(r.generation),
  state: r.state,
  tests: r.tests,
  stats: r.stats,
  createdAt: new Date(r.created_at).getTime(),
  scoredAt: r.scored_at ? new Date(r.scored_at).getTime() : null,
});

export interface NewGeneration {
  studyId: string;
  generation: number;
  combinations: { key: string; variables: Variables }[];
  tests: PlannedTest[];
}

/**
 * Params: $1 study, $2 generation, $3 tests, $4 now, $5 trials planned.
 * Records a generation's plan and advances the study's trial counter, in one
 * statement each, inside the caller's transaction: the plan is what a resumed
 * process continues, and its trial numbers are never handed out twice.
 */
const INSERT_GENERATION = `
INSERT INTO generations (study_id, generation, state, tests, created_at) VALUES ($1, $2, 'testing', $3, $4)`;
const ADVANCE_STUDY = `UPDATE studies SET generation = $2, trials = trials + $3, updated_at = $4 WHERE study_id = $1`;
const INSERT_COMBINATIONS = `
INSERT INTO combinations (study_id, key, variables, first_generation)
SELECT $1, c.key, c.variables, $2 FROM jsonb_to_recordset($3::jsonb) AS c(key text, variables jsonb)
ON CONFLICT (study_id, key_hash) DO NOTHING`;

export async function insertGeneration(tx: Queryable, g: NewGeneration, nowMs: number): Promise<void> {
  await tx.query(INSERT_COMBINATIONS, [g.studyId, g.generation, JSON.stringify(g.combinations)]);
  await tx.query(INSERT_GENERATION, [g.studyId, g.generation, JSON.stringify(g.tests), new Date(nowMs)]);
  await tx.query(ADVANCE_STUDY, [g.studyId, g.generation, g.tests.length, new Date(nowMs)]);
}

export async function getGeneration(db: Queryable, studyId: string, generation: number): Promise<GenerationRow | null> {
  const rows = await db.query<Row>(`SELECT * FROM generations WHERE study_id = $1 AND generation = $2`, [studyId, generation]);
  return rows[0] ? toGeneration(rows[0]) : null;
}

export async function latestGeneration(db: Queryable, studyId: string): Promise<GenerationRow | null> {
  const rows = await db.query<Row>(`SELECT * FROM generations WHERE study_id = $1 ORDER BY generation DESC LIMIT 1`, [studyId]);
  return rows[0] ? toGeneration(rows[0]) : null;
}

export async function listGenerations(db: Queryable, studyId: string): Promise<GenerationRow[]> {
  return (await db.query<Row>(`SELECT * FROM generations WHERE study_id = $1 ORDER BY generation`, [studyId])).map(toGeneration);
}

/** Params: $1 study, $2 generation, $3 stats, $4 now. */
export async function markGenerationScored(db: Queryable, studyId: string, generation: number, stats: JsonValue, nowMs: number): Promise<void> {
  await db.query(`UPDATE generations SET state = 'scored', stats = $3, scored_at = $4 WHERE study_id = $1 AND generation = $2`, [
    studyId,
    generation,
    JSON.stringify(stats),
    new Date(nowMs),
  ]);
}

export interface CombinationRow {
  key: string;
  variables: Variables;
  firstGeneration: number;
  classification: string | null;
  score: number | null;
}

export async function listCombinations(db: Queryable, studyId: string): Promise<CombinationRow[]> {
  const rows = await db.query<{ key: string; variables: Variables; first_generation: number; classification: string | null; score: number | null }>(
    `SELECT key, variables, first_generation, classification, score FROM combinations WHERE study_id = $1 ORDER BY score DESC NULLS LAST, key`,
    [studyId],
  );
  return rows.map((r) => ({
    key: r.key,
    variables: r.variables,
    firstGeneration: Number(r.first_generation),
    classification: r.classification,
    score: r.score === null ? null : Number(r.score),
  }));
}

/** Params: $1 study, $2 jsonb [{key, classification, score}], $3 generation, $4 now. Also appends to the score history. */
export async function recordScores(
  tx: Queryable,
  studyId: string,
  scores: { key: string; classification: string; score: number }[],
  generation: number,
  nowMs: number,
): Promise<void> {
  const input = JSON.stringify(scores);
  await tx.query(
    `UPDATE combinations c SET classification = s.classification, score = s.score
     FROM jsonb_to_recordset($2::jsonb) AS s(key text, classification text, score double precision)
     WHERE c.study_id = $1 AND c.key_hash = md5(s.key) AND c.key = s.key`,
    [studyId, input],
  );
  await tx.query(
    `INSERT INTO score_history (study_id, key, generation, at, score)
     SELECT $1, s.key, $3, $4, s.score FROM jsonb_to_recordset($2::jsonb) AS s(key text, score double precision)
     ON CONFLICT (study_id, key_hash, generation) DO UPDATE SET score = EXCLUDED.score, at = EXCLUDED.at`,
    [studyId, input, generation, new Date(nowMs)],
  );
}

export interface ScorePoint {
  key: string;
  generation: number;
  at: number;
  score: number;
}

export async function scoreHistory(db: Queryable, studyId: string): Promise<ScorePoint[]> {
  const rows = await db.query<{ key: string; generation: number; at: Date; score: number }>(
    `SELECT key, generation, at, score FROM score_history WHERE study_id = $1 ORDER BY generation, key`,
    [studyId],
  );
  return rows.map((r) => ({ key: r.key, generation: Number(r.generation), at: new Date(r.at).getTime(), score: Number(r.score) }));
}
