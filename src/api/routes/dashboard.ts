import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ZodInstance } from '../server.js';

/** The files the dashboard's build writes: nothing else under its folder is served. */
const ASSET = /^[a-z0-9-]+\.(js|css)$/;
const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
/** The page holds no data (it reads the API with the token the person signs in with), so it and its assets are public. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * The dashboard at `/`: the static page and assets the build put in `dir`.
 * Without a built dashboard, `/` says how to build it.
 */
export async function dashboardRoutes(app: ZodInstance, dir: string | undefined): Promise<void> {
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    if (!dir) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built in this installation of Orchestra: run `npm run build`, then start the server again. The API is served as usual (/docs).\n');
    }
    return reply.header('content-security-policy', CSP).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(fs.createReadStream(path.join(dir, 'index.html')));
  });
  app.get(
    '/assets/:file',
    { config: { access: 'public' }, schema: { hide: true, params: z.object({ file: z.string().max(100) }).strict() } },
    async (request, reply) => {
      const { file } = request.params;
      const full = dir && ASSET.test(file) ? path.join(dir, file) : undefined;
      if (!full || !fs.existsSync(full)) return reply.code(404).send({ code: 'ORC_API_NOT_FOUND', message: `no dashboard asset ${file}` });
      return reply.header('cache-control', 'no-cache').type(TYPES[path.extname(file).slice(1)]!).send(fs.createReadStream(full));
    },
  );
}
