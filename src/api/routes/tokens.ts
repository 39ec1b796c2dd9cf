import { z } from 'zod';
import { OrchestraError } from '../../protocol/index.js';
import { listTokens, revokeToken, TOKEN_ROLES, type TokenRow } from '../../store/index.js';
import { createToken } from '../tokens.js';
import type { ApiDeps, ZodInstance } from '../server.js';

const tokenView = z.object({
  tokenId: z.string(),
  name: z.string(),
  role: z.enum(TOKEN_ROLES),
  botId: z.string().nullable(),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
});

const view = (t: TokenRow): z.input<typeof tokenView> => ({ ...t });

/** Tokens, for admins: what `orchestra tokens` does on the store, over HTTP (so a running embedded system's tokens can be managed too). */
export async function tokenRoutes(app: ZodInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/api/tokens',
    { config: { access: 'admin' }, schema: { summary: 'The tokens, without their secrets', response: { 200: z.object({ tokens: z.array(tokenView) }) } } },
    async () => ({ tokens: (await listTokens(deps.db)).map(view) }),
  );

  app.post(
    '/api/tokens',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Makes a token and answers it, once (the store keeps only its hash); a bot token is a registration token',
        body: z
          .object({ role: z.enum(TOKEN_ROLES), name: z.string().trim().min(1).max(200), expiresInHours: z.number().int().min(1).max(100_000).optional() })
          .strict(),
        response: { 201: tokenView.extend({ token: z.string() }) },
      },
    },
    async (request, reply) => {
      const now = deps.clock.now();
      const { role, name, expiresInHours } = request.body;
      const { token, row } = await createToken(deps.db, { role, name, expiresAt: expiresInHours ? now + expiresInHours * 3_600_000 : null }, now);
      return reply.code(201).send({ ...view(row), token });
    },
  );

  app.post(
    '/api/tokens/:tokenId/revoke',
    { config: { access: 'admin' }, schema: { summary: 'Stops a token from working (within api.tokenRecheckMs on every server)', params: z.object({ tokenId: z.string().min(1).max(100) }).strict() } },
    async (request) => {
      if (!(await revokeToken(deps.db, request.params.tokenId, deps.clock.now()))) throw new OrchestraError('ORC_API_NOT_FOUND', `no valid token has id ${request.params.tokenId}`);
      return { tokenId: request.params.tokenId, revoked: true };
    },
  );
}
