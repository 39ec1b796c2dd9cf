import type { JsonValue } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

export async function saveReport(db: Queryable, studyId: string, generation: number, report: JsonValue, nowMs: number): Promise<void> {
  await db.query(
    `INSERT INTO analysis_reports (study_id, generation, report, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (study_id, generation) DO UPDATE SET report = EXCLUDED.report, created_at = EXCLUDED.created_at`,
    [studyId, generation, JSON.stringify(report), new Date(nowMs)],
  );
}

export async function listReports(db: Queryable, studyId: string): Promise<{ generation: number; report: JsonValue; createdAt: number }[]> {
  const rows = await db.query<{ generation: number; report: JsonValue; created_at: Date }>(
    `SELECT generation, report, created_at FROM analysis_reports WHERE study_id = $1 ORDER BY generation`,
    [studyId],
  );
  return rows.map((r) => ({ generation: Number(r.generation), report: r.report, createdAt: new Date(r.created_at).getTime() }));
}
