import type { Migration } from './migration.js';

/**
 * An isolated bot can be put back in the fleet by an operator. The columns
 * keep the last reinstatement (when, who asked, why) and how many there were,
 * so the fleet's history shows why a bot that failed is working again.
 */
export const migration: Migration = {
  version: 8,
  name: 'bot_reinstatement',
  sql: `
ALTER TABLE bots
  ADD COLUMN reinstated_at     timestamptz,
  ADD COLUMN reinstated_by     text,
  ADD COLUMN reinstate_reason  text,
  ADD COLUMN reinstatements    integer NOT NULL DEFAULT 0;
`,
};
