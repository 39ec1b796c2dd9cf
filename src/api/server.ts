import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { describeError, OrchestraError, silentLogger, type Clock, type Logger } from '../protocol/index.js';
import type { Db, TokenRole, TokenRow } from '../store/index.js';
import type { TaskRegistry } from '../registry/index.js';
import type { Bus } from '../bus/index.js';
import { apiConfig, type ApiConfig, type ApiOptions } from './config.js';
import { ApiError, toApiError } from './errors.js';
import { hashToken, TokenAuthenticator } from './tokens.js';
import { systemRoutes } from './routes/system.js';
import { taskRoutes } from './routes/tasks.js';
import { studyRoutes } from './routes/studies.js';
import { eventRoutes } from './routes/events.js';
import { EventStream } from './events.js';
import { dashboardRoutes } from './routes/dashboard.js';
import type { ProcessTelemetry } from './telemetry.js';
import type { Space } from '../evolution/index.js';
import { fleetRoutes } from './routes/fleet.js';
import { campaignRoutes } from './routes/campaigns.js';
import { OperatorAgent } from './operator.js';
import { BotPolls } from './bot-polls.js';
import { botProtocolRoutes } from './routes/bot-protocol.js';
import { tokenRoutes } from './routes/tokens.js';
import { fleetConfig, type FleetOptions } from '../agents/index.js';

export interface ApiDeps {
  db: Db;
  registry: TaskRegistry;
  clock: Clock;
  /** When the process has one: `/readyz` checks it answers. */
  bus?: Bus;
  logger?: Logger;
  /** The package's version, for the OpenAPI document. */
  version?: string;
  /** The fleet's rules, as the bot agent has them: what remote bots are told at registration. */
  fleet?: FleetOptions;
  /** This process's own measurements: bus request and claim latencies on `/metrics`, and the loops `/readyz` asks. */
  telemetry?: ProcessTelemetry;
  /** In a process that runs the experiment system: starts studies asked for over HTTP (`POST /api/studies`). */
  studies?: StudyLauncher;
  /** The folder of the built dashboard, served at `/`. */
  dashboardDir?: string;
}

/** A study asked for over HTTP: a space, and a workload the server's configuration names (never a command line). */
export interface StudyLaunch {
  studyId: string;
  space: Space;
  workload: string;
  /** Evaluations at most, failures included, as with `optimize --budget`. */
  budget: number;
  population?: number;
  seed?: number;
}

/** Starts and finds the studies this process runs for HTTP clients, each driven by a variable agent of its own. */
export interface StudyLauncher {
  /** The workloads a launch may name. */
  readonly workloads: readonly string[];
  /** Starts the study; refuses an unknown workload (400) or a study id the store already holds (409). */
  launch(study: StudyLaunch): Promise<{ agentId: string }>;
  /** The variable agent driving `studyId` when this process launched it. */
  agentOf(studyId: string): string | undefined;
}

/**
 * Who may call a route: `public` needs no token; `viewer` is any token but a
 * bot's; `admin` only an admin's; `bot` only the token of the bot the path
 * names; `register` a registration token (a bot token of no bot) or an admin's.
 */
export type Access = 'public' | 'viewer' | 'admin' | 'bot' | 'register';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    token?: TokenRow;
  }
}

export type ApiServer = FastifyInstance;
/** The server as routes see it: request and reply types from their zod schemas. */
export type ZodInstance = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

const ALLOWED: Record<Exclude<Access, 'public'>, readonly TokenRole[]> = {
  viewer: ['viewer', 'admin'],
  admin: ['admin'],
  bot: ['bot'],
  register: ['bot', 'admin'],
};

const NEEDS: Record<Exclude<Access, 'public'>, string> = {
  viewer: 'a viewer or admin token',
  admin: 'an admin token',
  bot: 'the token of the bot it names',
  register: 'a registration (bot) or admin token',
};

/** Whether a token of an allowed role may call this route: a bot token only its own bot's routes, a registration token only registration. */
function tokenFits(access: Exclude<Access, 'public'>, row: TokenRow, params: unknown): boolean {
  if (!ALLOWED[access].includes(row.role)) return false;
  if (access === 'bot') return row.botId !== null && row.botId === (params as { botId?: unknown } | undefined)?.botId;
  if (access === 'register') return row.role === 'admin' || row.botId === null;
  return true;
}

/** The key and certificate the API serves TLS with; a file that cannot be read is a configuration error naming its setting. */
function readTls(keyFile: string, certFile: string): { key: Buffer; cert: Buffer } {
  const read = (setting: string, file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new OrchestraError('ORC_CONFIG_INVALID', `api.${setting}: cannot read ${file}: ${describeError(err).message}`);
    }
  };
  return { key: read('tlsKeyFile', keyFile), cert: read('tlsCertFile', certFile) };
}

/**
 * The HTTP API over an open store and registry: every request and reply
 * validated by the zod schemas the OpenAPI document is generated from,
 * bearer tokens with roles, JSON errors `{code, message, details}` with the
 * stable ORC_* codes. Returns the server, ready to `listen` (or `inject`).
 */
export async function createApiServer(deps: ApiDeps, options: ApiOptions = {}): Promise<ApiServer> {
  const config: ApiConfig = apiConfig.parse(options);
  const { Fastify, helmet, cors, rateLimit, swagger, swaggerUi, zodProvider } = await loadFastify();
  const { jsonSchemaTransform, serializerCompiler, validatorCompiler } = zodProvider;
  const logger = deps.logger ?? silentLogger;
  // Fastify types an HTTPS server apart; the routes use nothing that differs between the two.
  const app = Fastify({
    ...(config.tlsKeyFile && config.tlsCertFile ? { https: readTls(config.tlsKeyFile, config.tlsCertFile) } : {}),
    logger: false,
    bodyLimit: config.bodyLimitBytes,
    return503OnClosing: true,
    // A URL the router cannot read (a bad %-escape, a path parameter past its length) is the client's error too.
    frameworkErrors: (err, _request, reply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void (reply as FastifyReply).code(status).send({ code: 'ORC_API_INVALID_REQUEST', message: err.message });
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(helmet, { contentSecurityPolicy: false });
  if (config.corsOrigins.length) await app.register(cors, { origin: config.corsOrigins });
  await app.register(rateLimit, {
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    // Per token when one is given (its hash: the token never becomes a key), else per address.
    keyGenerator: (request) => {
      const header = request.headers.authorization;
      return typeof header === 'string' && header.length <= 250 ? `t:${hashToken(header)}` : `a:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'ORC_API_RATE_LIMITED', `more than ${context.max} requests in a minute; try again in ${Math.ceil(context.ttl / 1000)} s`),
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Orchestra', description: 'The HTTP API of an Orchestra system: tasks, studies, health.', version: deps.version ?? '0.0.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const tokens = new TokenAuthenticator(deps.db, config.tokenRecheckMs);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const header = request.headers.authorization;
    const token = typeof header === 'string' && /^Bearer [^\s]+$/.test(header) ? header.slice('Bearer '.length) : undefined;
    if (!token) throw new ApiError(401, 'ORC_API_UNAUTHORIZED', 'this route needs a bearer token (Authorization: Bearer …)');
    const row = await tokens.authenticate(token, deps.clock.now());
    if (!row) throw new ApiError(401, 'ORC_API_UNAUTHORIZED', 'the bearer token is unknown, revoked or expired');
    if (!tokenFits(access, row, request.params)) {
      const who = row.role === 'bot' ? (row.botId === null ? 'a registration token' : `the token of bot ${row.botId}`) : `a ${row.role} token`;
      throw new ApiError(403, 'ORC_API_FORBIDDEN', `${who} may not ${request.method} ${request.routeOptions.url}; it needs ${NEEDS[access]}`);
    }
    request.token = row;
  });

  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = describeFailure(err);
    if (status >= 500) logger.error({ method: request.method, url: request.routeOptions.url, err: describeError(err) }, 'API request failed');
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: 'ORC_API_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  // With a bus, this process follows the streamed topics for `/events` from now on.
  const stream = deps.bus
    ? new EventStream(
        { bus: deps.bus, clock: deps.clock, logger },
        { replayWindow: config.eventReplayWindow, heartbeatMs: config.eventHeartbeatMs, maxBufferedBytes: config.eventClientBufferBytes },
      )
    : undefined;
  if (stream) {
    await stream.start();
    // Before the server waits for its connections to end: an open stream never would.
    app.addHook('preClose', async () => stream.close());
  }
  // With a bus, operator actions reach the running agents through an agent of the API's own.
  const operator = deps.bus ? new OperatorAgent({ bus: deps.bus, clock: deps.clock, logger }, config.agentTimeoutMs) : undefined;
  if (operator) {
    await operator.start();
    app.addHook('onClose', async () => operator.stop());
  }

  const zod = app.withTypeProvider<ZodTypeProvider>();
  await app.register(async (scope) => systemRoutes(scope.withTypeProvider<ZodTypeProvider>(), deps, operator, stream));
  await app.register(async (scope) => taskRoutes(scope.withTypeProvider<ZodTypeProvider>(), deps));
  await app.register(async (scope) => studyRoutes(scope.withTypeProvider<ZodTypeProvider>(), deps, operator));
  await app.register(async (scope) => fleetRoutes(scope.withTypeProvider<ZodTypeProvider>(), deps, operator));
  await app.register(async (scope) => campaignRoutes(scope.withTypeProvider<ZodTypeProvider>(), deps, operator));
  await app.register(async (scope) => eventRoutes(scope.withTypeProvider<ZodTypeProvider>(), stream));
  await app.register(async (scope) => tokenRoutes(scope.withTypeProvider<ZodTypeProvider>(), deps));
  const fleet = fleetConfig.parse(deps.fleet ?? {});
  const polls = new BotPolls({ registry: deps.registry, clock: deps.clock, logger }, config.botPollIntervalMs);
  app.addHook('preClose', async () => polls.close());
  const timings = {
    heartbeatIntervalMs: fleet.heartbeatIntervalMs,
    heartbeatTimeoutMs: fleet.heartbeatTimeoutMs,
    maxTasksPerBot: fleet.maxTasksPerBot,
    leaseMs: deps.registry.config.leaseMs,
    pollWaitMs: config.botPollWaitMs,
  };
  await app.register(async (scope) =>
    botProtocolRoutes(scope.withTypeProvider<ZodTypeProvider>(), { ...deps, timings, polls, rateLimitPerMinute: config.botRateLimitPerMinute }, operator),
  );
  await app.register(async (scope) => dashboardRoutes(scope.withTypeProvider<ZodTypeProvider>(), deps.dashboardDir));
  zod.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  try {
    await app.ready();
  } catch (err) {
    await stream?.close();
    await operator?.stop();
    throw err;
  }
  return app;
}

/**
 * Fastify and its plugins, loaded when the first server is made: they are
 * about a third of what a command loads, and most commands serve no API.
 */
async function loadFastify() {
  const [fastify, helmet, cors, rateLimit, swagger, swaggerUi, zodProvider] = await Promise.all([
    import('fastify'),
    import('@fastify/helmet'),
    import('@fastify/cors'),
    import('@fastify/rate-limit'),
    import('@fastify/swagger'),
    import('@fastify/swagger-ui'),
    import('fastify-type-provider-zod'),
  ]);
  loadedZodProvider = zodProvider;
  return { Fastify: fastify.default, helmet: helmet.default, cors: cors.default, rateLimit: rateLimit.default, swagger: swagger.default, swaggerUi: swaggerUi.default, zodProvider };
}

/** Set by the first server made, before any request can fail. */
let loadedZodProvider: typeof import('fastify-type-provider-zod') | undefined;

/** Validation, body-size and parse errors from Fastify, then Orchestra's own: each as a status and `{code, message, details}`. */
function describeFailure(err: unknown): ReturnType<typeof toApiError> {
  if (loadedZodProvider?.hasZodFastifySchemaValidationErrors(err)) {
    const where = (err as { validationContext?: string }).validationContext ?? 'request';
    const issues = err.validation.map((v) => ({
      field: [where, ...v.instancePath.split('/').filter(Boolean)].join('.'),
      message: v.message ?? 'invalid',
    }));
    const first = issues[0]!;
    return { status: 400, body: { code: 'ORC_API_INVALID_REQUEST', message: `${first.field}: ${first.message}`, details: { issues } } };
  }
  const fastifyCode = (err as { code?: unknown }).code;
  const statusCode = (err as { statusCode?: unknown }).statusCode;
  if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, body: { code: 'ORC_API_TOO_LARGE', message: 'the request body is larger than the server accepts (api.bodyLimitBytes)' } };
  }
  if (!(err instanceof ApiError) && typeof fastifyCode === 'string' && fastifyCode.startsWith('FST_') && typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: statusCode, body: { code: 'ORC_API_INVALID_REQUEST', message: describeError(err).message } };
  }
  return toApiError(err);
}
