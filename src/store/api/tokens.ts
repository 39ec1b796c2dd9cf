import { OrchestraError } from '../../protocol/index.js';
import type { Queryable } from '../db.js';

export const TOKEN_ROLES = ['admin', 'viewer', 'bot'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** A token as the store keeps it: never the token itself, only its hash. */
export interface TokenRow {
  tokenId: string;
  name: string;
  role: TokenRole;
  /** The bot a bot token belongs to; null for a registration token and every other role. */
  botId: string | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

interface Row {
  token_id: string;
  name: string;
  role: TokenRole;
  bot_id: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const ms = (d: Date | null) => (d ? new Date(d).getTime() : null);
const toToken = (r: Row): TokenRow => ({
  tokenId: r.token_id,
  name: r.name,
  role: r.role,
  botId: r.bot_id,
  createdAt: new Date(r.created_at).getTime(),
  expiresAt: ms(r.expires_at),
  revokedAt: ms(r.revoked_at),
  lastUsedAt: ms(r.last_used_at),
});

const COLUMNS = 'token_id, name, role, bot_id, created_at, expires_at, revoked_at, last_used_at';

export async function insertToken(
  db: Queryable,
  token: { tokenId: string; name: string; role: TokenRole; hash: string; expiresAt: number | null; botId?: string | null },
  nowMs: number,
): Promise<TokenRow> {
  if ((token.botId ?? null) !== null && token.role !== 'bot') throw new OrchestraError('ORC_CONFIG_INVALID', `only a bot token belongs to a bot, not a ${token.role} token`);
  const rows = await db.query<Row>(
    `INSERT INTO api_tokens (token_id, name, role, hash, created_at, expires_at, bot_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [token.tokenId, token.name, token.role, token.hash, new Date(nowMs), token.expiresAt === null ? null : new Date(token.expiresAt), token.botId ?? null],
  );
  return toToken(rows[0]!);
}

/** The token with this hash, if it is neither revoked nor expired at `nowMs`; marks it used. */
export async function useToken(db: Queryable, hash: string, nowMs: number): Promise<TokenRow | null> {
  const rows = await db.query<Row>(
    `UPDATE api_tokens SET last_used_at = $2
     WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
     RETURNING ${COLUMNS}`,
    [hash, new Date(nowMs)],
  );
  return rows[0] ? toToken(rows[0]) : null;
}

export async function listTokens(db: Queryable): Promise<TokenRow[]> {
  return (await db.query<Row>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at, token_id`)).map(toToken);
}

/** Revokes a token; false when no token has this id or it was revoked already. */
export async function revokeToken(db: Queryable, tokenId: string, nowMs: number): Promise<boolean> {
  const rows = await db.query(`UPDATE api_tokens SET revoked_at = $2 WHERE token_id = $1 AND revoked_at IS NULL RETURNING token_id`, [tokenId, new Date(nowMs)]);
  return rows.length > 0;
}

/** Revokes every live token of one bot but `keepTokenId`: a bot that registers again holds one token, the new one. */
export async function revokeBotTokens(db: Queryable, botId: string, keepTokenId: string, nowMs: number): Promise<number> {
  const rows = await db.query(`UPDATE api_tokens SET revoked_at = $3 WHERE bot_id = $1 AND token_id <> $2 AND revoked_at IS NULL RETURNING token_id`, [
    botId,
    keepTokenId,
    new Date(nowMs),
  ]);
  return rows.length;
}

/** Whether a usable admin token exists (so a first `serve` knows to make one). */
export async function hasAdminToken(db: Queryable, nowMs: number): Promise<boolean> {
  const rows = await db.query(`SELECT 1 FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1) LIMIT 1`, [new Date(nowMs)]);
  return rows.length > 0;
}
