import { z } from 'zod';
import { defineCommand, defineEvent, defineRequest } from '../contract.js';
import { testPayloadSchema } from '../test-task.js';

/** The fleet: bots registering and heartbeating with the bot agent, tests handed to them, alerts about them. */

export const BOT_AGENT_ID = 'bots';
/** Where the bot agent publishes the fleet's state changes, completions and alerts. */
export const BOT_STATUS_TOPIC = 'fleet.status';
/** Tests wait under this kind until the bot agent hands them to a bot. */
export const TEST_BACKLOG_KIND = 'test';
/** A bot's agent id, which is also the kind of the tasks handed to it: only that bot claims them. */
export const botKind = (botId: string) => `bot.${botId}`;
export const botIdOfKind = (kind: string): string | undefined => (kind.startsWith('bot.') ? kind.slice(4) : undefined);

export const botIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, 'must be letters, digits and _ . : -');
const reason = z.string().max(500);

export const botTransportSchema = z.enum(['bus', 'http']);

export const botSchema = z.object({
  botId: z.string(),
  deviceId: z.string(),
  role: z.string(),
  group: z.string(),
  /** `online`, `draining` (finishing what it holds, handed nothing new), `restarting`, `lost` (restarted and never came back), `isolated` or `offline`. */
  state: z.string(),
  /** `bus`: an agent on the bus; `http`: a remote process (`orchestra bot`), told what to do when it next calls. */
  transport: botTransportSchema,
  successRate: z.number(),
  restarts: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  lastHeartbeatAt: z.number(),
  isolatedAt: z.number().nullable(),
  reason: z.string().nullable(),
  reinstatedAt: z.number().nullable(),
  reinstatedBy: z.string().nullable(),
  reinstateReason: z.string().nullable(),
  reinstatements: z.number().int(),
});
export type BotInfo = z.output<typeof botSchema>;

/** A test to register: its payload, and the task's id (also its idempotency key), priority and attempts. */
export const testRequestSchema = testPayloadSchema.extend({
  taskId: z.string().min(1).max(100),
  priority: z.number().int().min(1).max(10).optional(),
  maxAttempts: z.number().int().min(1).max(100).optional(),
});
export type TestRequest = z.output<typeof testRequestSchema>;

const registered = z.object({ tasks: z.array(z.object({ taskId: z.string(), created: z.boolean() })) });

export const registerBotRequest = defineRequest({
  name: 'register_bot',
  to: BOT_AGENT_ID,
  data: z
    .object({
      botId: botIdSchema,
      deviceId: z.string().min(1).max(200),
      role: z.string().min(1).max(100),
      group: z.string().min(1).max(100),
      /** Default `bus`. */
      transport: botTransportSchema.optional(),
    })
    .strict(),
  reply: botSchema,
});

export const deregisterBotRequest = defineRequest({
  name: 'deregister_bot',
  to: BOT_AGENT_ID,
  data: z.object({ botId: botIdSchema }).strict(),
  reply: z.object({ botId: z.string(), state: z.string().nullable() }),
});

export const createTestTaskRequest = defineRequest({
  name: 'create_test_task',
  to: BOT_AGENT_ID,
  data: z.object({ tests: z.array(testRequestSchema).min(1).max(1000) }).strict(),
  reply: registered,
});

export const assignCampaignTaskRequest = defineRequest({
  name: 'assign_campaign_task',
  to: BOT_AGENT_ID,
  data: z
    .object({ runs: z.array(testRequestSchema.extend({ campaignId: z.string().min(1), runAt: z.number().int().optional() })).min(1).max(1000) })
    .strict(),
  reply: registered,
});

export const getAvailableBotCountRequest = defineRequest({
  name: 'get_available_bot_count',
  to: BOT_AGENT_ID,
  data: z.object({}).strict(),
  reply: z.object({ available: z.number().int(), online: z.number().int(), total: z.number().int(), isolated: z.number().int() }),
});

export const getBotStatusRequest = defineRequest({
  name: 'get_bot_status',
  to: BOT_AGENT_ID,
  data: z.object({ botId: botIdSchema.optional() }).strict(),
  reply: z.object({ bots: z.array(botSchema.extend({ tasks: z.number().int() })) }),
});

export const heartbeatCommand = defineCommand({
  name: 'heartbeat',
  to: BOT_AGENT_ID,
  // Not strict: a bot may say more about itself than this agent reads.
  data: z.object({ botId: botIdSchema, running: z.number().int().nonnegative().optional() }),
});

export const restartBotCommand = defineCommand({ name: 'restart_bot', to: BOT_AGENT_ID, data: z.object({ botId: botIdSchema, reason: reason.optional() }).strict() });
export const isolateBotCommand = defineCommand({ name: 'isolate_bot', to: BOT_AGENT_ID, data: z.object({ botId: botIdSchema, reason: reason.optional() }).strict() });
/** Puts an isolated bot back in the fleet; `by` defaults to the sender. */
export const reinstateBotCommand = defineCommand({
  name: 'reinstate_bot',
  to: BOT_AGENT_ID,
  data: z.object({ botId: botIdSchema, reason: reason.optional(), by: z.string().min(1).max(200).optional() }).strict(),
});

/** To one bot (`botKind(botId)`): a fresh worker; what it held was already given to others. */
export const restartCommand = defineCommand({ name: 'restart', data: z.object({ reason: z.string().optional() }) });
/** To one bot (`botKind(botId)`): it is isolated and takes nothing more. */
export const stopCommand = defineCommand({ name: 'stop', data: z.object({ reason: z.string().optional() }) });
/** To one bot (`botKind(botId)`): it was reinstated, and takes tasks and heartbeats again. */
export const resumeCommand = defineCommand({ name: 'resume', data: z.object({ reason: z.string().optional() }) });

export const botStatusUpdateEvent = defineEvent({ name: 'bot_status_update', topic: BOT_STATUS_TOPIC, data: botSchema });

export const taskCompletedEvent = defineEvent({
  name: 'task_completed',
  topic: BOT_STATUS_TOPIC,
  data: z.object({ taskId: z.string(), botId: z.string(), attempt: z.number().int() }),
});

/** An alert: whoever reacts to alerts (the orchestrator) listens on the fleet's topic. */
export const botIsolatedEvent = defineEvent({
  name: 'bot_isolated',
  topic: BOT_STATUS_TOPIC,
  data: z.object({ botId: z.string(), reason: z.string(), tasksMoved: z.number().int().nonnegative() }),
});
