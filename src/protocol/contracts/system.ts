import { z } from 'zod';
import { defineEvent, defineRequest } from '../contract.js';
import { jsonValue } from '../json.js';
import { taskCountsSchema } from './pipeline.js';

/** What every agent answers and announces, and what the orchestrator keeps about all of them. */

export const ORCHESTRATOR_ID = 'orchestrator';
/** The topic on which every agent instance announces that it started, is alive, or stopped. */
export const PRESENCE_TOPIC = 'agents.presence';

const noData = z.object({}).strict();

export const AGENT_STATES = ['new', 'starting', 'running', 'stopping', 'stopped', 'failed'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

export const agentStatusSchema = z
  .object({
    agentId: z.string().min(1),
    /** Replicas share an agent id; each process's instance has its own. */
    instanceId: z.string().min(1),
    role: z.string().min(1),
    state: z.enum(AGENT_STATES),
    startedAt: z.number().int().nonnegative(),
    at: z.number().int().nonnegative(),
    /** What the agent adds about itself (a worker's kinds and counts, a monitor's last snapshot time). */
    details: z.record(z.string(), jsonValue),
  })
  .strict();
export type AgentStatus = z.output<typeof agentStatusSchema>;

/** Every agent answers it, whoever it is: the sender names the receiver. */
export const getStatusRequest = defineRequest({ name: 'get_status', data: noData, reply: agentStatusSchema });

export const agentStatusEvent = defineEvent({ name: 'agent_status', topic: PRESENCE_TOPIC, data: agentStatusSchema });

export const listedAgentSchema = z.object({
  agentId: z.string(),
  instanceId: z.string(),
  role: z.string(),
  /** The state the instance last announced, or `silent` when it stopped announcing without saying it stopped. */
  state: z.string(),
  startedAt: z.number(),
  lastSeenAt: z.number(),
  details: jsonValue,
});
export type ListedAgent = z.output<typeof listedAgentSchema>;

export const alertSchema = z.object({ action: z.string(), from: z.string(), at: z.number(), data: jsonValue });

export const listAgentsRequest = defineRequest({
  name: 'list_agents',
  to: ORCHESTRATOR_ID,
  data: noData,
  reply: z.object({ agents: z.array(listedAgentSchema) }),
});

export const getSystemStatusRequest = defineRequest({
  name: 'get_system_status',
  to: ORCHESTRATOR_ID,
  data: noData,
  reply: z.object({ agents: z.array(listedAgentSchema), tasks: taskCountsSchema, alerts: z.array(alertSchema) }),
});
