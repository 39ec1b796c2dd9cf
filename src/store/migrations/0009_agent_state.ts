import type { Migration } from './migration.js';

/**
 * State the experiment agents kept in memory moves to the store (invariant 4),
 * so an agent restarted mid-way goes on where it was: a bot's failures in a
 * row (five isolate it), how many generations a study still explores harder
 * after an environment change, and the latest alerts an operator is shown.
 */
export const migration: Migration = {
  version: 9,
  name: 'agent_state',
  sql: `
ALTER TABLE bots ADD COLUMN failures_in_a_row integer NOT NULL DEFAULT 0;
ALTER TABLE studies ADD COLUMN explore_left integer NOT NULL DEFAULT 0;

CREATE TABLE alerts (
  alert_id   bigserial PRIMARY KEY,
  action     text NOT NULL,
  source     text NOT NULL,
  raised_at  timestamptz NOT NULL,
  data       jsonb NOT NULL
);
`,
};
