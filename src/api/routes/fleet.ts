import { z } from 'zod';
import { BOT_AGENT_ID, botStatusUpdateEvent, isolateBotCommand, OrchestraError, reinstateBotCommand, restartBotCommand } from '../../protocol/index.js';
import { getBot, markDraining, reinstateBot, resumeDrainedBot, type BotRow } from '../../store/index.js';
import type { ApiDeps, ZodInstance } from '../server.js';
import { botsView, resolveStudy } from '../views.js';
import { needsBus, type OperatorAgent } from '../operator.js';
import { botInfo, fleetConfig } from '../../agents/index.js';

const botId = z.object({ botId: z.string().min(1).max(200) }).strict();
const reasonBody = z.object({ reason: z.string().max(500).optional() }).strict().nullish();

/** The fleet: its bots, and restart, isolate, reinstate, drain and resume. */
export async function fleetRoutes(app: ZodInstance, deps: ApiDeps, operator: OperatorAgent | undefined): Promise<void> {
  // A bot's load is its tasks in hand against this.
  const { maxTasksPerBot } = fleetConfig.parse(deps.fleet ?? {});
  const known = async (id: string) => {
    const bot = await getBot(deps.db, id);
    if (!bot) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `no bot has id ${id}`);
    return bot;
  };

  app.get(
    '/api/bots',
    {
      config: { access: 'viewer' },
      schema: {
        summary:
          'Every bot with its state, success rate, counts, tasks in hand, restarts and isolation reason, and the most tasks a bot holds at once; with ?study, those that ran its tests (as `orchestra bots --json`)',
        querystring: z.object({ study: z.string().min(1).max(200).optional() }).strict(),
      },
    },
    async (request) => ({
      ...(await botsView(deps.db, request.query.study === undefined ? undefined : await resolveStudy(deps.db, request.query.study))),
      maxTasksPerBot,
    }),
  );

  app.get('/api/bots/:botId', { config: { access: 'viewer' }, schema: { summary: 'One bot', params: botId } }, async (request) => ({ bot: await known(request.params.botId) }));

  for (const [action, contract] of [
    ['restart', restartBotCommand],
    ['isolate', isolateBotCommand],
  ] as const) {
    app.post(
      `/api/bots/:botId/${action}`,
      { config: { access: 'admin' }, schema: { summary: `${contract.name}: the running bot agent ${action === 'restart' ? 'gives the bot a fresh worker' : 'takes the bot out of the fleet'}`, params: botId, body: reasonBody } },
      async (request, reply) => {
        await known(request.params.botId);
        const agent = needsBus(operator, contract.name);
        await agent.running(BOT_AGENT_ID, contract.name);
        const reason = request.body?.reason ?? `${contract.name} by token ${request.token!.name} over the API`;
        await agent.sendCommand(contract, { botId: request.params.botId, reason });
        return reply.code(202).send({ action: contract.name, botId: request.params.botId, sent: true });
      },
    );
  }

  app.post(
    '/api/bots/:botId/reinstate',
    { config: { access: 'admin' }, schema: { summary: "Puts an isolated bot back in the fleet at the fleet's mean success rate, recording who asked and why", params: botId, body: reasonBody } },
    async (request) => {
      const asked = { by: `token ${request.token!.name}`, reason: request.body?.reason?.trim() || 'reinstated over the API' };
      const row = await reinstateBot(deps.db, request.params.botId, deps.clock.now(), asked);
      if (!row) return { bot: await known(request.params.botId), reinstated: false };
      // The store holds the fleet; a running bot agent is told too, so the bot takes tasks again at once.
      await operator?.sendCommand(reinstateBotCommand, { botId: request.params.botId, ...asked });
      return { bot: row, reinstated: true };
    },
  );

  // Drain and resume change the bot in the store, where the bot agent reads the fleet at each round.
  for (const [action, summary, change, done] of [
    ['drain', 'Drains a bot: it is handed no new test and finishes what it holds, until resumed', (id: string, reason: string) => markDraining(deps.db, id, reason), 'drained'],
    ['resume', 'Puts a draining bot back to work, its record as it was', (id: string, reason: string) => resumeDrainedBot(deps.db, id, deps.clock.now(), reason), 'resumed'],
  ] as const) {
    app.post(
      `/api/bots/:botId/${action}`,
      { config: { access: 'admin' }, schema: { summary, params: botId, body: reasonBody } },
      async (request) => {
        const reason = request.body?.reason?.trim() || `${done} by token ${request.token!.name} over the API`;
        const row: BotRow | null = await change(request.params.botId, reason);
        if (!row) return { bot: await known(request.params.botId), [done]: false };
        await operator?.sendEvent(botStatusUpdateEvent, botInfo(row)).catch(() => undefined);
        return { bot: row, [done]: true };
      },
    );
  }
}
