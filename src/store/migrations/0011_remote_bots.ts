import type { Migration } from './migration.js';

/**
 * Bots that speak HTTP. A bot token belongs to one bot (`bot_id`); a bot-role
 * token without one is a registration token, good only for registering a bot
 * and receiving that bot's own token. A bot's `transport` says how the fleet
 * reaches it: `bus` (an agent on the bus, told by commands) or `http` (a
 * remote process, told in the answer to its next heartbeat or poll).
 */
export const migration: Migration = {
  version: 11,
  name: 'remote_bots',
  sql: `
ALTER TABLE api_tokens ADD COLUMN bot_id text;
CREATE INDEX api_tokens_by_bot ON api_tokens (bot_id) WHERE bot_id IS NOT NULL;
ALTER TABLE bots ADD COLUMN transport text NOT NULL DEFAULT 'bus' CHECK (transport IN ('bus', 'http'));
`,
};
