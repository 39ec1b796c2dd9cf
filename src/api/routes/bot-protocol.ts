import { z } from 'zod';
import {
  botIdSchema,
  botKind,
  botStatusUpdateEvent,
  jsonValue,
  tasksFinishedEvent,
  testPayloadSchema,
  testResultSchema,
  type Task,
} from '../../protocol/index.js';
import { checkInBot, getBot, markOffline, registerBot, revokeBotTokens, type BotRow, type BotState } from '../../store/index.js';
import { botInfo, takeBackTests } from '../../agents/index.js';
import { ApiError } from '../errors.js';
import { createToken } from '../tokens.js';
import type { BotPolls } from '../bot-polls.js';
import type { ApiDeps, ZodInstance } from '../server.js';
import type { OperatorAgent } from '../operator.js';

/**
 * What a bot is told when it calls in: `run` (take work), `restart` (drop
 * what you hold: it was given to others; then go on), `stop` (isolated: take
 * nothing, keep calling in until reinstated), `register` (the fleet has it
 * offline or not at all: register again).
 */
export const BOT_DIRECTIVES = ['run', 'restart', 'stop', 'register'] as const;
export type BotDirective = (typeof BOT_DIRECTIVES)[number];

const botParams = z.object({ botId: botIdSchema }).strict();
const taskParams = z.object({ botId: botIdSchema, taskId: z.string().min(1).max(200) }).strict();
const lease = z.object({ taskId: z.string().min(1).max(200), attempt: z.number().int().min(1) }).strict();
const directive = z.enum(BOT_DIRECTIVES);

const taskForBot = z.object({
  taskId: z.string(),
  attempt: z.number().int(),
  kind: z.string(),
  priority: z.number().int(),
  payload: z.unknown(),
  leaseExpiresAt: z.number().nullable(),
});

const reportReply = z.object({ taskId: z.string(), accepted: z.boolean(), status: z.string().nullable() });

/** What the fleet expects of a remote bot, told at registration. */
export interface BotTimings {
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  maxTasksPerBot: number;
  leaseMs: number;
  pollWaitMs: number;
}

/**
 * The bot protocol: how a remote bot (`orchestra bot`) joins the fleet and
 * works in it over HTTP. It registers (with a registration or admin token,
 * receiving a token of its own), heartbeats (renewing the leases of the tasks
 * it runs), long-polls for the tasks the bot agent hands it, and reports each
 * attempt. A bot's token reaches these routes for that bot only, and nothing
 * else. The fleet's rules stay the bot agent's: these routes write what the
 * bot said in the store and tell the agents on the bus.
 */
export async function botProtocolRoutes(app: ZodInstance, deps: ApiDeps & { timings: BotTimings; polls: BotPolls; rateLimitPerMinute: number }, operator: OperatorAgent | undefined): Promise<void> {
  const { registry, db, clock, timings, polls } = deps;
  const limit = { rateLimit: { max: deps.rateLimitPerMinute, timeWindow: 60_000 } };
  const workerIdOf = (botId: string) => `http:${botId}`;

  const publishStatus = async (bot: BotRow) => {
    await operator?.sendEvent(botStatusUpdateEvent, botInfo(bot)).catch(() => undefined);
  };

  /** Proof of life on every call; what the bot must be told follows from the state it was in. */
  const checkIn = async (botId: string): Promise<{ bot: BotRow | null; directive: BotDirective }> => {
    const seen = await checkInBot(db, botId, clock.now());
    if (!seen) return { bot: null, directive: 'register' };
    if (seen.previousState !== seen.bot.state) await publishStatus(seen.bot);
    return { bot: seen.bot, directive: directiveFor(seen.previousState, seen.bot.state) };
  };

  app.post(
    '/api/fleet/register',
    {
      config: { access: 'register', ...limit },
      schema: {
        summary: 'A bot joins the fleet (a registration or admin token): it is given a token of its own, and the timings the fleet expects of it. Registering again keeps its history and revokes its earlier tokens.',
        tags: ['bot protocol'],
        body: z
          .object({
            botId: botIdSchema,
            deviceId: z.string().min(1).max(200).optional(),
            role: z.string().min(1).max(100).default('tester'),
            group: z.string().min(1).max(100).default('default'),
          })
          .strict(),
        response: {
          200: z.object({
            bot: z.record(z.string(), z.unknown()),
            token: z.string(),
            heartbeatIntervalMs: z.number(),
            heartbeatTimeoutMs: z.number(),
            maxTasksPerBot: z.number(),
            leaseMs: z.number(),
            pollWaitMs: z.number(),
          }),
        },
      },
    },
    async (request) => {
      const { botId, deviceId, role, group } = request.body;
      const existing = await getBot(db, botId);
      if (existing && existing.transport === 'bus') {
        throw new ApiError(409, 'ORC_API_INVALID_REQUEST', `bot ${botId} is a bot of a running process on the bus; register this one under another id`);
      }
      const now = clock.now();
      const bot = await registerBot(db, { botId, deviceId: deviceId ?? botId, role, group, transport: 'http' }, now);
      const { token, row } = await createToken(db, { name: `bot ${botId}`, role: 'bot', botId }, now);
      await revokeBotTokens(db, botId, row.tokenId, now);
      await publishStatus(bot);
      return { bot: botInfo(bot), token, ...timings };
    },
  );

  app.post(
    '/api/fleet/bots/:botId/heartbeat',
    {
      config: { access: 'bot', ...limit },
      schema: {
        summary: "A bot's heartbeat, with the attempts it is running: their leases are renewed, and those it no longer holds are named so it stops them",
        tags: ['bot protocol'],
        params: botParams,
        body: z.object({ running: z.array(lease).max(64).default([]) }).strict(),
        response: { 200: z.object({ directive, state: z.string().nullable(), lost: z.array(z.string()) }) },
      },
    },
    async (request) => {
      const { botId } = request.params;
      const { bot, directive } = await checkIn(botId);
      const running = request.body.running;
      const lost = running.length && directive === 'run' ? await registry.renew(running) : running.map((r) => r.taskId);
      return { directive, state: bot?.state ?? null, lost };
    },
  );

  app.post(
    '/api/fleet/bots/:botId/claim',
    {
      config: { access: 'bot', ...limit },
      schema: {
        summary: 'Long-polls for the tasks the fleet hands this bot: up to `free` of them (never more than the fleet allows a bot), waiting up to `waitMs` for one',
        tags: ['bot protocol'],
        params: botParams,
        body: z.object({ free: z.number().int().min(0).max(64), waitMs: z.number().int().min(0).max(600_000).optional() }).strict(),
        response: { 200: z.object({ directive, tasks: z.array(taskForBot) }) },
      },
    },
    async (request, reply) => {
      const { botId } = request.params;
      const kind = botKind(botId);
      const wanted = Math.min(request.body.free, timings.maxTasksPerBot);
      const until = clock.now() + Math.min(request.body.waitMs ?? timings.pollWaitMs, timings.pollWaitMs);
      // The response closing before it is sent means the client went away (the request's own 'close' only means its body was read).
      const gone = new AbortController();
      const onClose = () => gone.abort();
      reply.raw.once('close', onClose);
      try {
        for (;;) {
          const { directive } = await checkIn(botId);
          if (directive !== 'run' || wanted === 0 || gone.signal.aborted) return { directive, tasks: [] };
          const tasks = await registry.claim({ kinds: [kind], workerId: workerIdOf(botId), limit: wanted });
          if (tasks.length > 0 || clock.now() >= until) return { directive, tasks: tasks.map(forBot) };
          await polls.wait(kind, until - clock.now(), gone.signal);
          if (gone.signal.aborted || polls.closed) return { directive, tasks: [] };
        }
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );

  /** The attempt named is the one running now, and another worker runs it: not this bot's to report on. */
  const heldElsewhere = (task: Task, botId: string, attempt: number) =>
    task.status === 'RUNNING' && task.attempt === attempt && task.workerId !== workerIdOf(botId);

  /** Reports an attempt; the registry's fence decides, and a refused report is 409 (kept as late when the attempt was this bot's). */
  const report = async (botId: string, taskId: string, attempt: number, durationMs: number, outcome: { result: unknown } | { error: { code: string; message: string; retryable: boolean } }) => {
    const task = await registry.get(taskId);
    if (heldElsewhere(task, botId, attempt)) {
      throw new ApiError(409, 'ORC_REGISTRY_LEASE_LOST', `task ${taskId} attempt ${attempt} is held by another worker, not bot ${botId}`);
    }
    if ('result' in outcome && testPayloadSchema.safeParse(task.payload).success) {
      const checked = testResultSchema.safeParse(outcome.result);
      if (!checked.success) {
        const issue = checked.error.issues[0]!;
        throw new ApiError(400, 'ORC_API_INVALID_REQUEST', `body.result.${issue.path.join('.')}: ${issue.message} (a test's result is an evaluation: success, value, metrics, reason)`);
      }
    }
    const workerId = workerIdOf(botId);
    const result =
      'result' in outcome
        ? await registry.complete({ taskId, attempt, workerId, result: outcome.result as never })
        : await registry.fail({ taskId, attempt, workerId, error: outcome.error });
    if (!result.accepted) {
      throw new ApiError(409, 'ORC_REGISTRY_LEASE_LOST', `task ${taskId} attempt ${attempt} no longer holds its lease (restarted, reassigned, cancelled or expired): the report was kept as late and changed nothing`, {
        taskId,
        attempt,
        status: task.status,
      });
    }
    const status = result.status === 'COMPLETED' ? 'COMPLETED' : result.status === 'PENDING' ? 'PENDING' : 'FAILED';
    await operator
      ?.sendEvent(tasksFinishedEvent, {
        tasks: [
          {
            taskId,
            kind: task.kind,
            status,
            attempt,
            durationMs,
            ...('error' in outcome ? { error: result.refused?.code ?? outcome.error.code } : result.refused ? { error: result.refused.code } : {}),
          },
        ],
      })
      .catch(() => undefined);
    return { taskId, accepted: true, status: result.status };
  };

  /** A report route's options: the attempt and its duration, and what the attempt ended with. */
  const reportRoute = <S extends z.ZodRawShape>(summary: string, outcome: S) => ({
    config: { access: 'bot' as const, ...limit },
    schema: {
      summary,
      tags: ['bot protocol'],
      params: taskParams,
      body: z.object({ attempt: z.number().int().min(1), durationMs: z.number().nonnegative().default(0), ...outcome }).strict(),
      response: { 200: reportReply },
    },
  });

  app.post(
    '/api/fleet/bots/:botId/tasks/:taskId/complete',
    reportRoute("An attempt's result (for a test: its evaluation). Refused with 409 when the attempt no longer holds its lease; the report is then kept as late", { result: jsonValue }),
    async (request) => report(request.params.botId, request.params.taskId, request.body.attempt, request.body.durationMs, { result: request.body.result }),
  );

  app.post(
    '/api/fleet/bots/:botId/tasks/:taskId/fail',
    reportRoute('An attempt that failed: retried after a backoff while attempts remain and the error allows. Refused with 409 when the attempt no longer holds its lease', {
      error: z.object({ code: z.string().regex(/^ORC_[A-Z_]{1,60}$/).default('ORC_WORKER_HANDLER_FAILED'), message: z.string().min(1).max(4000), retryable: z.boolean().default(true) }).strict(),
    }),
    async (request) => report(request.params.botId, request.params.taskId, request.body.attempt, request.body.durationMs, { error: request.body.error }),
  );

  app.post(
    '/api/fleet/bots/:botId/deregister',
    {
      config: { access: 'bot', ...limit },
      schema: {
        summary: 'A bot leaving the fleet cleanly (drained): offline, not silent, so it is not restarted; it registers again to come back',
        tags: ['bot protocol'],
        params: botParams,
        response: { 200: z.object({ botId: z.string(), state: z.string().nullable() }) },
      },
    },
    async (request) => {
      const { botId } = request.params;
      await markOffline(db, botId);
      // What the fleet handed it and it never claimed goes to the other bots.
      await takeBackTests(registry, botId);
      const bot = await getBot(db, botId);
      if (bot) await publishStatus(bot);
      return { botId, state: bot?.state ?? null };
    },
  );
}

function directiveFor(before: BotState, now: BotState): BotDirective {
  if (now === 'isolated') return 'stop';
  if (now === 'offline') return 'register';
  // Back from a restart, or from being lost: what it held went back to the queue, so it drops it and starts clean.
  return before === 'restarting' || before === 'lost' ? 'restart' : 'run';
}

function forBot(task: Task): z.input<typeof taskForBot> {
  return { taskId: task.taskId, attempt: task.attempt, kind: task.kind, priority: task.priority, payload: task.payload, leaseExpiresAt: task.leaseExpiresAt };
}
