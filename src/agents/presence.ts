import { z } from 'zod';
import { jsonValue } from '../protocol/index.js';

/** The topic on which every agent instance announces that it started, is alive, or stopped. */
export const PRESENCE_TOPIC = 'agents.presence';
export const PRESENCE_ACTION = 'agent_status';

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
