import type { AddressInfo } from 'node:net';
import { describeError, OrchestraError } from '../protocol/index.js';
import { createApiServer, createToken, type ApiServer, type StudyLauncher } from '../api/index.js';
import { hasAdminToken } from '../store/index.js';
import type { Runtime } from './runtime.js';
import { announceLocalApi } from './local-api.js';
import { dashboardDir } from '../web/index.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface ServedApi {
  server: ApiServer;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the HTTP API over this process's store, registry and bus, and says
 * where (on `out`, standard error's writer). With no admin token in the store yet, makes one and prints it, once.
 * A port that cannot be had is an error when `required` (the user asked for
 * that port); otherwise the process goes on without the API and says why.
 */
export async function serveApi(runtime: Runtime, out: { write(text: string): unknown }, options: { required: boolean; version?: string; studies?: StudyLauncher }): Promise<ServedApi | undefined> {
  const { host, port } = runtime.config.api;
  const { bots: _inProcess, ...fleet } = runtime.config.fleet;
  const dashboard = dashboardDir();
  const server = await createApiServer(
    { db: runtime.db, registry: runtime.registry, clock: runtime.clock, logger: runtime.logger, telemetry: runtime.telemetry, fleet, ...(dashboard ? { dashboardDir: dashboard } : {}), ...(options.studies ? { studies: options.studies } : {}), ...(runtime.bus ? { bus: runtime.bus } : {}), ...(options.version ? { version: options.version } : {}) },
    runtime.config.api,
  );
  try {
    await server.listen({ host, port });
  } catch (err) {
    await server.close();
    const why = `cannot serve the API on ${host}:${port}: ${describeError(err).message}`;
    if (options.required) throw new OrchestraError('ORC_CONFIG_INVALID', why);
    out.write(`orchestra: ${why}; going on without it (choose another port with --port N, or api.port)\n`);
    return undefined;
  }
  const address = server.server.address() as AddressInfo;
  const tls = runtime.config.api.tlsCertFile !== undefined;
  const url = `${tls ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  out.write(`orchestra: API at ${url} (OpenAPI at ${url}/openapi.json, docs at ${url}/docs)\n`);
  if (!LOOPBACK.has(host) && !tls) {
    out.write(`orchestra: warning: the API listens on ${host} without TLS; put it behind a TLS-terminating proxy before it leaves this machine, or serve TLS with api.tlsKeyFile and api.tlsCertFile\n`);
  }
  if (!(await hasAdminToken(runtime.db, runtime.clock.now()))) {
    const { token, row } = await createToken(runtime.db, { name: 'first admin', role: 'admin' }, runtime.clock.now());
    out.write(`orchestra: no admin token existed; made ${row.tokenId}, shown this once: ${token}\n`);
  }
  const unannounce = await announceLocalApi(runtime, url);
  return {
    server,
    url,
    close: async () => {
      await unannounce();
      await server.close();
    },
  };
}
