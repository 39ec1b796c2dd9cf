import type { Queryable } from '../db.js';

export const BOT_STATES = ['online', 'draining', 'restarting', 'lost', 'isolated', 'offline'] as const;
export type BotState = (typeof BOT_STATES)[number];
/** How the fleet reaches a bot: `bus` (an agent, told by commands) or `http` (a remote process, told when it next calls). */
export type BotTransport = 'bus' | 'http';

export interface BotRow {
  botId: string;
  deviceId: string;
  role: string;
  group: string;
  state: BotState;
  transport: BotTransport;
  /** Exponentially weighted: 0.9 × old + 0.1 × (1 on success, 0 on failure). */
  successRate: number;
  restarts: number;
  /** Times of recent restarts, to tell a bot that keeps failing from one that failed once. */
  recentRestarts: number[];
  completed: number;
  failed: number;
  lastHeartbeatAt: number;
  registeredAt: number;
  isolatedAt: number | null;
  reason: string | null;
  /** The last time an operator put the bot back in the fleet, who asked and why; null if never. */
  reinstatedAt: number | null;
  reinstatedBy: string | null;
  reinstateReason: string | null;
  reinstatements: number;
  /** Failed tasks since its last success (or reinstatement): enough of them isolate it. */
  failuresInARow: number;
}

interface Row {
  bot_id: string;
  device_id: string;
  role: string;
  group_name: string;
  state: BotState;
  transport: BotTransport;
  success_rate: number;
  restarts: number;
  recent_restarts: number[];
  completed: number;
  failed: number;
  last_heartbeat_at: Date;
  registered_at: Date;
  isolated_at: Date | null;
  reason: string | null;
  reinstated_at: Date | null;
  reinstated_by: string | null;
  reinstate_reason: string | null;
  reinstatements: number;
  failures_in_a_row: number;
}

const toBot = (r: Row): BotRow => ({
  botId: r.bot_id,
  deviceId: r.device_id,
  role: r.role,
  group: r.group_name,
  state: r.state,
  transport: r.transport,
  successRate: Number(r.success_rate),
  restarts: Number(r.restarts),
  recentRestarts: r.recent_restarts.map(Number),
  completed: Number(r.completed),
  failed: Number(r.failed),
  lastHeartbeatAt: new Date(r.last_heartbeat_at).getTime(),
  registeredAt: new Date(r.registered_at).getTime(),
  isolatedAt: r.isolated_at ? new Date(r.isolated_at).getTime() : null,
  reason: r.reason,
  reinstatedAt: r.reinstated_at ? new Date(r.reinstated_at).getTime() : null,
  reinstatedBy: r.reinstated_by,
  reinstateReason: r.reinstate_reason,
  reinstatements: Number(r.reinstatements),
  failuresInARow: Number(r.failures_in_a_row),
});

/**
 * Params: $1 id, $2 device, $3 role, $4 group, $5 now, $6 initial success rate, $7 transport.
 * A bot registering again (after a restart of its process) keeps its history;
 * an isolated bot stays isolated until an operator says otherwise.
 */
const REGISTER_BOT = `
INSERT INTO bots (bot_id, device_id, role, group_name, state, success_rate, last_heartbeat_at, registered_at, transport)
VALUES ($1, $2, $3, $4, 'online', $6, $5, $5, $7)
ON CONFLICT (bot_id) DO UPDATE
SET device_id = EXCLUDED.device_id, role = EXCLUDED.role, group_name = EXCLUDED.group_name, transport = EXCLUDED.transport,
    last_heartbeat_at = EXCLUDED.last_heartbeat_at,
    state = CASE WHEN bots.state = 'isolated' THEN 'isolated' ELSE 'online' END
RETURNING *`;

export async function registerBot(
  db: Queryable,
  bot: { botId: string; deviceId: string; role: string; group: string; transport?: BotTransport },
  nowMs: number,
  initialSuccessRate = 1,
): Promise<BotRow> {
  const rows = await db.query<Row>(REGISTER_BOT, [bot.botId, bot.deviceId, bot.role, bot.group, new Date(nowMs), initialSuccessRate, bot.transport ?? 'bus']);
  return toBot(rows[0]!);
}

/** A heartbeat brings a restarting or lost bot back online; an isolated or draining one stays so. */
export async function recordHeartbeat(db: Queryable, botId: string, nowMs: number): Promise<BotRow | null> {
  const rows = await db.query<Row>(
    `UPDATE bots SET last_heartbeat_at = $2, state = CASE WHEN state IN ('isolated', 'draining') THEN state ELSE 'online' END
     WHERE bot_id = $1 RETURNING *`,
    [botId, new Date(nowMs)],
  );
  return rows[0] ? toBot(rows[0]) : null;
}

/**
 * A remote bot calling in (a heartbeat, a poll): a restarting bot comes back
 * online, an isolated one stays isolated. Returns the bot as it is now and
 * the state it was in before, which tells what the bot has to be told
 * (restart: it was restarting; stop: it is isolated). Null for an unknown bot.
 */
export async function checkInBot(db: Queryable, botId: string, nowMs: number): Promise<{ bot: BotRow; previousState: BotState } | null> {
  const rows = await db.query<Row & { previous_state: BotState }>(
    `UPDATE bots b SET last_heartbeat_at = $2, state = CASE WHEN b.state IN ('isolated', 'offline', 'draining') THEN b.state ELSE 'online' END
     FROM (SELECT bot_id, state FROM bots WHERE bot_id = $1 FOR UPDATE) old
     WHERE b.bot_id = old.bot_id RETURNING b.*, old.state AS previous_state`,
    [botId, new Date(nowMs)],
  );
  return rows[0] ? { bot: toBot(rows[0]), previousState: rows[0].previous_state } : null;
}

/** Params: $1 id, $2 success (boolean). Applies one outcome to the weighted success rate, the counts and the failures in a row. */
export async function recordOutcome(db: Queryable, botId: string, success: boolean, oldWeight: number): Promise<BotRow | null> {
  const rows = await db.query<Row>(
    `UPDATE bots SET success_rate = $3 * success_rate + (1 - $3) * (CASE WHEN $2 THEN 1 ELSE 0 END),
       completed = completed + (CASE WHEN $2 THEN 1 ELSE 0 END), failed = failed + (CASE WHEN $2 THEN 0 ELSE 1 END),
       failures_in_a_row = CASE WHEN $2 THEN 0 ELSE failures_in_a_row + 1 END
     WHERE bot_id = $1 RETURNING *`,
    [botId, success, oldWeight],
  );
  return rows[0] ? toBot(rows[0]) : null;
}

export async function markRestarting(db: Queryable, botId: string, nowMs: number, keepSinceMs: number, reason: string): Promise<BotRow | null> {
  const rows = await db.query<Row>(
    `UPDATE bots SET state = 'restarting', restarts = restarts + 1, reason = $4, last_heartbeat_at = $2,
       recent_restarts = (SELECT COALESCE(jsonb_agg(t), '[]'::jsonb) FROM jsonb_array_elements(recent_restarts) AS t WHERE (t)::text::numeric >= $3)
                         || to_jsonb($5::numeric)
     WHERE bot_id = $1 AND state <> 'isolated' RETURNING *`,
    [botId, new Date(nowMs), keepSinceMs, reason, nowMs],
  );
  return rows[0] ? toBot(rows[0]) : null;
}

/** A restarted bot that never came back: out of the fleet until it calls in again, which brings it back online. */
export async function markLost(db: Queryable, botId: string, reason: string): Promise<BotRow | null> {
  const rows = await db.query<Row>(`UPDATE bots SET state = 'lost', reason = $2 WHERE bot_id = $1 AND state = 'restarting' RETURNING *`, [botId, reason]);
  return rows[0] ? toBot(rows[0]) : null;
}

export async function markIsolated(db: Queryable, botId: string, nowMs: number, reason: string): Promise<BotRow | null> {
  const rows = await db.query<Row>(
    `UPDATE bots SET state = 'isolated', isolated_at = $2, reason = $3 WHERE bot_id = $1 AND state <> 'isolated' RETURNING *`,
    [botId, new Date(nowMs), reason],
  );
  return rows[0] ? toBot(rows[0]) : null;
}

/**
 * Params: $1 id, $2 now, $3 who asked, $4 why, $5 success rate when the fleet has no other bot.
 * Puts an isolated bot back in the fleet. Its success rate starts again at the
 * mean of the bots in the fleet (its own record is what got it isolated, and
 * would keep it from ever being chosen); its restarts and failures in a row
 * are forgotten, so one more does not isolate it again at once; its heartbeat clock starts now.
 */
const REINSTATE_BOT = `
UPDATE bots SET state = 'online',
  success_rate = COALESCE((SELECT avg(o.success_rate) FROM bots o WHERE o.state <> 'isolated' AND o.bot_id <> $1), $5),
  recent_restarts = '[]'::jsonb, failures_in_a_row = 0, last_heartbeat_at = $2, isolated_at = NULL,
  reason = 'reinstated by ' || $3::text || ': ' || $4::text,
  reinstated_at = $2, reinstated_by = $3::text, reinstate_reason = $4::text, reinstatements = reinstatements + 1
WHERE bot_id = $1 AND state = 'isolated'
RETURNING *`;

/** The reinstated bot, or null when it is not isolated (or does not exist): nothing changed. */
export async function reinstateBot(
  db: Queryable,
  botId: string,
  nowMs: number,
  request: { by: string; reason: string },
  initialSuccessRate = 1,
): Promise<BotRow | null> {
  const rows = await db.query<Row>(REINSTATE_BOT, [botId, new Date(nowMs), request.by, request.reason, initialSuccessRate]);
  return rows[0] ? toBot(rows[0]) : null;
}

/**
 * Drains an online bot: it is handed no new test, and finishes what it holds.
 * Null when it was not online (or does not exist): nothing changed.
 */
export async function markDraining(db: Queryable, botId: string, reason: string): Promise<BotRow | null> {
  const rows = await db.query<Row>(`UPDATE bots SET state = 'draining', reason = $2 WHERE bot_id = $1 AND state = 'online' RETURNING *`, [botId, reason]);
  return rows[0] ? toBot(rows[0]) : null;
}

/** Puts a draining bot back to work, its record as it was. Null when it was not draining. */
export async function resumeDrainedBot(db: Queryable, botId: string, nowMs: number, reason: string): Promise<BotRow | null> {
  const rows = await db.query<Row>(`UPDATE bots SET state = 'online', reason = $3, last_heartbeat_at = $2 WHERE bot_id = $1 AND state = 'draining' RETURNING *`, [
    botId,
    new Date(nowMs),
    reason,
  ]);
  return rows[0] ? toBot(rows[0]) : null;
}

export async function markOffline(db: Queryable, botId: string): Promise<void> {
  await db.query(`UPDATE bots SET state = 'offline' WHERE bot_id = $1 AND state <> 'isolated'`, [botId]);
}

export async function getBot(db: Queryable, botId: string): Promise<BotRow | null> {
  const rows = await db.query<Row>(`SELECT * FROM bots WHERE bot_id = $1`, [botId]);
  return rows[0] ? toBot(rows[0]) : null;
}

export async function listBots(db: Queryable): Promise<BotRow[]> {
  return (await db.query<Row>(`SELECT * FROM bots ORDER BY bot_id`)).map(toBot);
}
