import type { JsonValue } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

/** An alert an agent raised (`bot_isolated`, `environment_change_detected`), as the orchestrator heard it. */
export interface AlertRow {
  action: string;
  from: string;
  at: number;
  data: JsonValue;
}

interface Row {
  action: string;
  source: string;
  raised_at: Date;
  data: JsonValue;
}

/** Params: $1 action, $2 source, $3 raised at, $4 data, $5 how many to keep. Records one and forgets all but the newest $5. */
const RECORD_ALERT = `
WITH added AS (
  INSERT INTO alerts (action, source, raised_at, data) VALUES ($1, $2, $3, $4) RETURNING alert_id
)
DELETE FROM alerts WHERE alert_id <= (SELECT alert_id FROM added) - $5`;

export async function recordAlert(db: Queryable, alert: AlertRow, keep: number): Promise<void> {
  await db.query(RECORD_ALERT, [alert.action, alert.from, new Date(alert.at), JSON.stringify(alert.data), keep]);
}

/** The newest `limit` alerts, oldest first. */
export async function listAlerts(db: Queryable, limit: number): Promise<AlertRow[]> {
  const rows = await db.query<Row>(`SELECT action, source, raised_at, data FROM (SELECT * FROM alerts ORDER BY alert_id DESC LIMIT $1) newest ORDER BY alert_id`, [limit]);
  return rows.map((r) => ({ action: r.action, from: r.source, at: new Date(r.raised_at).getTime(), data: r.data }));
}
