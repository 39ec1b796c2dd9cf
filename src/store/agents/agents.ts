import type { JsonValue } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

export interface AgentRow {
  agentId: string;
  instanceId: string;
  role: string;
  state: string;
  startedAt: number;
  lastSeenAt: number;
  details: JsonValue;
}

/**
 * Params: $1 agent_id, $2 instance_id, $3 role, $4 state, $5 started_at, $6 seen_at, $7 details.
 * Announcements can arrive out of order (a heartbeat overtaken by the
 * "stopped" that followed it): an older one never overwrites a newer one,
 * and of two from the same millisecond, "stopped" is the last word.
 */
const RECORD_AGENT = `
INSERT INTO agents (agent_id, instance_id, role, state, started_at, last_seen_at, details)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (agent_id, instance_id) DO UPDATE
SET role = EXCLUDED.role, state = EXCLUDED.state, last_seen_at = EXCLUDED.last_seen_at, details = EXCLUDED.details
WHERE agents.last_seen_at < EXCLUDED.last_seen_at
   OR (agents.last_seen_at = EXCLUDED.last_seen_at AND agents.state <> 'stopped')`;

const LIST_AGENTS = `
SELECT agent_id, instance_id, role, state, started_at, last_seen_at, details
FROM agents ORDER BY agent_id, started_at, instance_id`;

/** Params: $1 cutoff. Instances that stopped, or were last heard of before the cutoff. */
const FORGET_AGENTS = `DELETE FROM agents WHERE last_seen_at < $1`;

interface Row {
  agent_id: string;
  instance_id: string;
  role: string;
  state: string;
  started_at: Date;
  last_seen_at: Date;
  details: JsonValue;
}

export async function recordAgent(db: Queryable, a: AgentRow): Promise<void> {
  await db.query(RECORD_AGENT, [
    a.agentId,
    a.instanceId,
    a.role,
    a.state,
    new Date(a.startedAt),
    new Date(a.lastSeenAt),
    JSON.stringify(a.details),
  ]);
}

export async function listAgents(db: Queryable): Promise<AgentRow[]> {
  const rows = await db.query<Row>(LIST_AGENTS);
  return rows.map((r) => ({
    agentId: r.agent_id,
    instanceId: r.instance_id,
    role: r.role,
    state: r.state,
    startedAt: new Date(r.started_at).getTime(),
    lastSeenAt: new Date(r.last_seen_at).getTime(),
    details: r.details,
  }));
}

export async function forgetAgents(db: Queryable, lastSeenBeforeMs: number): Promise<number> {
  const rows = await db.query(FORGET_AGENTS + ' RETURNING 1', [new Date(lastSeenBeforeMs)]);
  return rows.length;
}
