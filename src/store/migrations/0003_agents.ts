import type { Migration } from './migration.js';

/**
 * The agent directory. Each running agent instance announces itself on the
 * bus; the orchestrator keeps the latest announcement here, so `orchestra
 * agents` answers the same after the orchestrator restarts and an agent that
 * went silent is still listed, as silent, instead of vanishing.
 */
export const migration: Migration = {
  version: 3,
  name: 'agents',
  sql: `
CREATE TABLE agents (
  agent_id     text NOT NULL,
  instance_id  text NOT NULL,
  role         text NOT NULL,
  state        text NOT NULL,
  started_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  details      jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (agent_id, instance_id)
);
CREATE INDEX agents_last_seen ON agents (last_seen_at);
`,
};
