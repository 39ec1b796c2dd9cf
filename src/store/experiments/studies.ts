import type { JsonValue } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

export interface StudyRow {
  studyId: string;
  space: JsonValue;
  settings: JsonValue;
  /** `running`, `stopped` (stop_test), or `finished` (budget or generations spent). */
  state: string;
  generation: number;
  /** Evaluations planned so far: the next trial number, and what a budget counts. */
  trials: number;
  /** First trial of the landscape as it is now, after an environment change; null before any. */
  exploreFrom: number | null;
  /** Generations still to explore harder after the last environment change. */
  exploreLeft: number;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  study_id: string;
  space: JsonValue;
  settings: JsonValue;
  state: string;
  generation: number;
  trials: number;
  explore_from: number | null;
  explore_left: number;
  created_at: Date;
  updated_at: Date;
}

const toStudy = (r: Row): StudyRow => ({
  studyId: r.study_id,
  space: r.space,
  settings: r.settings,
  state: r.state,
  generation: Number(r.generation),
  trials: Number(r.trials),
  exploreFrom: r.explore_from === null ? null : Number(r.explore_from),
  exploreLeft: Number(r.explore_left),
  createdAt: new Date(r.created_at).getTime(),
  updatedAt: new Date(r.updated_at).getTime(),
});

/** Params: $1 id, $2 space, $3 settings, $4 now. Creates the study, or leaves an existing one as it is (a resume). */
const CREATE_STUDY = `
INSERT INTO studies (study_id, space, settings, state, created_at, updated_at)
VALUES ($1, $2, $3, 'running', $4, $4)
ON CONFLICT (study_id) DO NOTHING`;

export async function createStudy(db: Queryable, studyId: string, space: JsonValue, settings: JsonValue, nowMs: number): Promise<boolean> {
  const rows = await db.query(CREATE_STUDY + ' RETURNING 1', [studyId, JSON.stringify(space), JSON.stringify(settings), new Date(nowMs)]);
  return rows.length === 1;
}

export async function getStudy(db: Queryable, studyId: string): Promise<StudyRow | null> {
  const rows = await db.query<Row>(`SELECT * FROM studies WHERE study_id = $1`, [studyId]);
  return rows[0] ? toStudy(rows[0]) : null;
}

export async function listStudies(db: Queryable): Promise<StudyRow[]> {
  return (await db.query<Row>(`SELECT * FROM studies ORDER BY created_at, study_id`)).map(toStudy);
}

/** Params: $1 id, $2 state, $3 now. */
export async function setStudyState(db: Queryable, studyId: string, state: string, nowMs: number): Promise<void> {
  await db.query(`UPDATE studies SET state = $2, updated_at = $3 WHERE study_id = $1`, [studyId, state, new Date(nowMs)]);
}

/** Params: $1 id, $2 trial, $3 now. Marks where the landscape changed. */
/** After an environment change: the landscape as it is now starts at `trial`, and the next `generations` explore harder. */
export async function setExploreFrom(db: Queryable, studyId: string, trial: number, nowMs: number, generations = 0): Promise<void> {
  await db.query(`UPDATE studies SET explore_from = $2, explore_left = $4, updated_at = $3 WHERE study_id = $1`, [studyId, trial, new Date(nowMs), generations]);
}

/** One of the generations that explore harder after a change has been planned. */
export async function useExploreGeneration(db: Queryable, studyId: string): Promise<void> {
  await db.query(`UPDATE studies SET explore_left = explore_left - 1 WHERE study_id = $1 AND explore_left > 0`, [studyId]);
}

/** Turns the study's drift detection on or off (its `drift.enabled` setting): a run says which, as it says its budget. */
export async function setDriftDetection(db: Queryable, studyId: string, enabled: boolean): Promise<void> {
  await db.query(
    `UPDATE studies SET settings = settings || jsonb_build_object('drift', COALESCE(settings->'drift', '{}'::jsonb) || jsonb_build_object('enabled', $2::boolean)) WHERE study_id = $1`,
    [studyId, enabled],
  );
}
