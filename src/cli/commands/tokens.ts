import { createToken } from '../../api/index.js';
import { listTokens, revokeToken, TOKEN_ROLES, type TokenRole, type TokenRow } from '../../store/index.js';
import { OrchestraError } from '../../protocol/index.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { badArgument } from '../errors.js';
import { apiFromFlag } from '../api-client.js';
import { iso, table } from '../format.js';

async function withStore<T>(globals: GlobalFlags, io: CliIo, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(loadConfig(globals, io), { bus: false });
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

const tokenJson = (t: TokenRow) => ({
  tokenId: t.tokenId,
  name: t.name,
  role: t.role,
  botId: t.botId,
  createdAt: iso(t.createdAt),
  expiresAt: t.expiresAt === null ? null : iso(t.expiresAt),
  revokedAt: t.revokedAt === null ? null : iso(t.revokedAt),
  lastUsedAt: t.lastUsedAt === null ? null : iso(t.lastUsedAt),
});

/** Makes a token of the HTTP API and prints it, once: the store keeps only its hash. */
export async function tokensCreate(globals: GlobalFlags, options: { role: string; name: string; expiresInHours?: number; json?: boolean; api?: string }, io: CliIo): Promise<void> {
  if (!TOKEN_ROLES.includes(options.role as TokenRole)) throw badArgument(`--role ${options.role} is not one of ${TOKEN_ROLES.join(', ')}`);
  if (!options.name.trim() || options.name.length > 200) throw badArgument('--name must be 1 to 200 characters');
  const api = apiFromFlag(options.api, io.env);
  const { token, row } = api
    ? await api.post<TokenRow & { token: string }>('/api/tokens', { role: options.role, name: options.name, ...(options.expiresInHours ? { expiresInHours: options.expiresInHours } : {}) }).then(({ token, ...row }) => ({ token, row }))
    : await withStore(globals, io, (rt) => {
        const now = rt.clock.now();
        return createToken(rt.db, { name: options.name, role: options.role as TokenRole, expiresAt: options.expiresInHours ? now + options.expiresInHours * 3_600_000 : null }, now);
      });
  if (options.json) return printJson(io, { ...tokenJson(row), token });
  print(io, token);
  const use = row.role === 'bot' ? 'a registration token: a bot registers with it (orchestra bot --api URL --token TOKEN) and is given a token of its own' : 'give it as Authorization: Bearer TOKEN, or ORCHESTRA_TOKEN';
  io.stderr.write(`orchestra: ${row.role} token ${row.tokenId} (${row.name})${row.expiresAt ? `, valid until ${iso(row.expiresAt)}` : ''}: shown this once; ${use}\n`);
}

export async function tokensList(globals: GlobalFlags, options: { json?: boolean; api?: string }, io: CliIo): Promise<void> {
  const api = apiFromFlag(options.api, io.env);
  const tokens = api ? (await api.get<{ tokens: TokenRow[] }>('/api/tokens')).tokens : await withStore(globals, io, (rt) => listTokens(rt.db));
  if (options.json) return printJson(io, tokens.map(tokenJson));
  if (tokens.length === 0) return print(io, 'no tokens');
  const state = (t: TokenRow) => (t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt <= Date.now() ? 'expired' : 'valid');
  print(io, table(['ID', 'NAME', 'ROLE', 'BOT', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED'], tokens.map((t) => [t.tokenId, t.name, t.role, t.botId ?? '-', state(t), iso(t.createdAt), t.expiresAt ? iso(t.expiresAt) : '-', t.lastUsedAt ? iso(t.lastUsedAt) : '-'])));
}

export async function tokensRevoke(globals: GlobalFlags, tokenId: string, options: { json?: boolean; api?: string }, io: CliIo): Promise<void> {
  const api = apiFromFlag(options.api, io.env);
  // Over the API an unknown id is answered 404, which is this same error.
  const revoked = api ? (await api.post(`/api/tokens/${encodeURIComponent(tokenId)}/revoke`), true) : await withStore(globals, io, (rt) => revokeToken(rt.db, tokenId, rt.clock.now()));
  if (!revoked) throw new OrchestraError('ORC_API_NOT_FOUND', `no valid token has id ${tokenId} (see orchestra tokens list)`);
  if (options.json) return printJson(io, { tokenId, revoked: true });
  print(io, `revoked ${tokenId}`);
}
