import type { Migration } from './migration.js';

/**
 * Bearer tokens of the HTTP API. Only a hash of each token is kept (SHA-256:
 * a token is 32 random bytes, so no slow hash is needed against guessing);
 * the token itself is shown once, when it is made.
 */
export const migration: Migration = {
  version: 10,
  name: 'api_tokens',
  sql: `
CREATE TABLE api_tokens (
  token_id    text PRIMARY KEY,
  name        text NOT NULL,
  role        text NOT NULL CHECK (role IN ('admin', 'viewer', 'bot')),
  hash        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz,
  revoked_at  timestamptz,
  last_used_at timestamptz
);
`,
};
