import type { Variables } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

export interface CampaignRow {
  campaignId: string;
  studyId: string;
  key: string;
  variables: Variables;
  runs: number;
  registered: number;
  succeeded: number;
  failed: number;
  valueSum: number;
  /** `running`, `finished` or `stopped`. */
  state: string;
  perMinute: number | null;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  campaign_id: string;
  study_id: string;
  key: string;
  variables: Variables;
  runs: number;
  registered: number;
  succeeded: number;
  failed: number;
  value_sum: number;
  state: string;
  per_minute: number | null;
  created_at: Date;
  updated_at: Date;
}

const toCampaign = (r: Row): CampaignRow => ({
  campaignId: r.campaign_id,
  studyId: r.study_id,
  key: r.key,
  variables: r.variables,
  runs: Number(r.runs),
  registered: Number(r.registered),
  succeeded: Number(r.succeeded),
  failed: Number(r.failed),
  valueSum: Number(r.value_sum),
  state: r.state,
  perMinute: r.per_minute === null ? null : Number(r.per_minute),
  createdAt: new Date(r.created_at).getTime(),
  updatedAt: new Date(r.updated_at).getTime(),
});

export async function insertCampaign(
  db: Queryable,
  c: { campaignId: string; studyId: string; key: string; variables: Variables; runs: number; perMinute: number | null },
  nowMs: number,
): Promise<CampaignRow> {
  const rows = await db.query<Row>(
    `INSERT INTO campaigns (campaign_id, study_id, key, variables, runs, state, per_minute, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $7) RETURNING *`,
    [c.campaignId, c.studyId, c.key, JSON.stringify(c.variables), c.runs, c.perMinute, new Date(nowMs)],
  );
  return toCampaign(rows[0]!);
}

/** Counts runs registered; the caller registers them in the registry with idempotency keys, so a repeat is harmless. */
export async function addRegistered(db: Queryable, campaignId: string, count: number, nowMs: number): Promise<void> {
  await db.query(`UPDATE campaigns SET registered = registered + $2, updated_at = $3 WHERE campaign_id = $1`, [campaignId, count, new Date(nowMs)]);
}

/** Params: $1 id, $2 succeeded, $3 failed, $4 value sum, $5 now: the totals as recounted from the registry. */
export async function setCampaignProgress(
  db: Queryable,
  campaignId: string,
  p: { succeeded: number; failed: number; valueSum: number; state: string },
  nowMs: number,
): Promise<void> {
  await db.query(
    `UPDATE campaigns SET succeeded = $2, failed = $3, value_sum = $4, state = $5, updated_at = $6 WHERE campaign_id = $1`,
    [campaignId, p.succeeded, p.failed, p.valueSum, p.state, new Date(nowMs)],
  );
}

export async function getCampaign(db: Queryable, campaignId: string): Promise<CampaignRow | null> {
  const rows = await db.query<Row>(`SELECT * FROM campaigns WHERE campaign_id = $1`, [campaignId]);
  return rows[0] ? toCampaign(rows[0]) : null;
}

export async function listCampaigns(db: Queryable): Promise<CampaignRow[]> {
  return (await db.query<Row>(`SELECT * FROM campaigns ORDER BY created_at, campaign_id`)).map(toCampaign);
}
