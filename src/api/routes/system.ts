import { z } from 'zod';
import { StoreDeadLetters, listAlerts, listStudies } from '../../store/index.js';
import type { ApiDeps, ZodInstance } from '../server.js';
import { createMetrics } from '../metrics.js';
import type { EventStream } from '../events.js';
import { needsBus, type OperatorAgent } from '../operator.js';
import { ApiError } from '../errors.js';
import { RequestTimeoutError } from '../../bus/index.js';
import { listAgentsRequest, listedAgentSchema } from '../../protocol/index.js';

/** How long `/readyz` waits for the store and the bus, in real time: it watches I/O. */
const PROBE_MS = 2_000;

const readiness = z.object({
  ready: z.boolean(),
  store: z.boolean(),
  /** Null in a process without a bus. */
  bus: z.boolean().nullable(),
  /** How many worker loops this process watches. */
  loops: z.number().int(),
  /** Those that do not turn, each with why. */
  stuck: z.array(z.object({ name: z.string(), problem: z.string() })),
});

const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** Health, readiness, the system's status and its dead letters. */
export async function systemRoutes(app: ZodInstance, deps: ApiDeps, operator: OperatorAgent | undefined, stream?: EventStream): Promise<void> {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { summary: 'The process is up', response: { 200: z.object({ ok: z.literal(true) }) } } },
    async () => ({ ok: true as const }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'viewer' },
      schema: {
        summary: "The store answers, the bus too when the process has one, and every worker loop of this process turns",
        response: { 200: readiness, 503: readiness },
      },
    },
    async (_request, reply) => {
      // A store or bus that does not answer within PROBE_MS is not ready: the probe never hangs the caller.
      const answers = (probe: Promise<unknown>) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), PROBE_MS);
          timer.unref();
          probe.then(
            () => resolve(true),
            () => resolve(false),
          ).finally(() => clearTimeout(timer));
        });
      // `bus` is null in a process without one.
      const [store, bus] = await Promise.all([answers(deps.db.query('SELECT 1')), deps.bus ? answers(deps.bus.ping()) : null]);
      const stuck = deps.telemetry?.problems(deps.clock.now()) ?? [];
      const ready = store && bus !== false && stuck.length === 0;
      return reply.code(ready ? 200 : 503).send({ ready, store, bus, loops: deps.telemetry?.watched ?? 0, stuck });
    },
  );

  app.get(
    '/api/status',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Tasks by status and priority, and the studies the store holds',
        response: {
          200: z.object({
            tasks: z.object({ total: z.number().int(), byStatus: z.record(z.string(), z.number().int()), byPriority: z.record(z.string(), z.number().int()) }).passthrough(),
            studies: z.array(z.object({ studyId: z.string(), state: z.string(), generation: z.number().int(), trials: z.number().int() })),
          }),
        },
      },
    },
    async () => {
      const [tasks, studies] = await Promise.all([deps.registry.counts(), listStudies(deps.db)]);
      return {
        tasks: tasks as unknown as { total: number; byStatus: Record<string, number>; byPriority: Record<string, number> },
        studies: studies.map((s) => ({ studyId: s.studyId, state: s.state, generation: s.generation, trials: s.trials })),
      };
    },
  );

  const metrics = createMetrics(deps, stream);
  app.get(
    '/metrics',
    { config: { access: 'viewer' }, schema: { summary: 'Prometheus metrics: tasks, queue depth, dead letters, late reports, bots, generation scores, campaigns, this process' } },
    async (_request, reply) => reply.header('content-type', metrics.contentType).send(await metrics.metrics()),
  );

  app.get(
    '/api/whoami',
    {
      config: { access: 'viewer' },
      schema: { summary: 'The token this request carries: its name and role (what a client may offer its user)', response: { 200: z.object({ tokenId: z.string(), name: z.string(), role: z.string() }) } },
    },
    async (request) => ({ tokenId: request.token!.tokenId, name: request.token!.name, role: request.token!.role }),
  );

  app.get(
    '/api/agents',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'The agents the orchestrator has heard announce themselves, with their state (silent: no announcement for three heartbeats)',
        response: { 200: z.object({ agents: z.array(listedAgentSchema) }) },
      },
    },
    async () => {
      const agent = needsBus(operator, 'list_agents');
      try {
        return await agent.sendRequest(listAgentsRequest, {}, { timeoutMs: agent.timeoutMs });
      } catch (err) {
        if (!(err instanceof RequestTimeoutError)) throw err;
        throw new ApiError(503, 'ORC_API_UNAVAILABLE', `no orchestrator answered within ${agent.timeoutMs} ms: is the system running?`);
      }
    },
  );

  app.get(
    '/api/dead-letters',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Malformed messages the bus refused, newest first, with the reason',
        querystring: z.object({ limit: limit(1000, 50) }).strict(),
      },
    },
    async (request) => ({ deadLetters: await new StoreDeadLetters(deps.db).list(request.query.limit) }),
  );

  app.get(
    '/api/alerts',
    {
      config: { access: 'viewer' },
      schema: { summary: 'Alerts the orchestrator recorded (a bot isolated, an environment change), oldest first', querystring: z.object({ limit: limit(1000, 100) }).strict() },
    },
    async (request) => ({ alerts: await listAlerts(deps.db, request.query.limit) }),
  );
}
