import { createHash, randomBytes } from 'node:crypto';
import { insertToken, useToken, type Db, type TokenRole, type TokenRow } from '../store/index.js';

/** Tokens start with this, so a leaked one is recognisable (and scanners can find it). */
const TOKEN_PREFIX = 'orc_';

/** SHA-256 of the token: what the store keeps and looks a presented token up by. */
export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * Makes a token: 32 random bytes (256 bits), shown once; the store keeps its
 * hash. A presented token is found by its hash, so comparing it never walks
 * the secret byte by byte: the lookup's timing depends on the hash alone.
 */
export async function createToken(
  db: Db,
  input: { name: string; role: TokenRole; expiresAt?: number | null; botId?: string | null },
  nowMs: number,
): Promise<{ token: string; row: TokenRow }> {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const tokenId = randomBytes(6).toString('hex');
  const row = await insertToken(db, { tokenId, name: input.name, role: input.role, hash: hashToken(token), expiresAt: input.expiresAt ?? null, botId: input.botId ?? null }, nowMs);
  return { token, row };
}


/** Tokens a server remembers at most; past it, the oldest are looked up again. */
const MAX_REMEMBERED = 10_000;

/**
 * Finds the row of a presented token when it is valid now (not revoked, not
 * expired). A token found valid is remembered for
 * `rememberMs`, so a client sending many requests costs one store round trip
 * (and one write of last_used_at) per period, not one per request. Its expiry
 * is checked on every request; a revocation takes effect within `rememberMs`.
 */
export class TokenAuthenticator {
  private readonly remembered = new Map<string, { row: TokenRow; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly rememberMs: number,
  ) {}

  async authenticate(token: string, nowMs: number): Promise<TokenRow | null> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
    const hash = hashToken(token);
    const known = this.remembered.get(hash);
    if (known && known.until > nowMs && (known.row.expiresAt === null || known.row.expiresAt > nowMs)) return known.row;
    const row = await useToken(this.db, hash, nowMs);
    this.remembered.delete(hash);
    if (row && this.rememberMs > 0) {
      if (this.remembered.size >= MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
      this.remembered.set(hash, { row, until: nowMs + this.rememberMs });
    }
    return row;
  }
}
