import { z } from 'zod';

const SECOND = 1000;

/** Settings every agent shares, with their defaults, written once. */
export const agentConfig = z
  .object({
    /** How often a running agent announces itself on the presence topic, on the injected clock. */
    heartbeatMs: z.number().int().positive().default(10 * SECOND),
    /** On stop, how long handlers already running may take before cleanup goes ahead without them. */
    stopGraceMs: z.number().int().nonnegative().default(10 * SECOND),
    /** Default wait for `sendRequest`; the bus's own default applies when unset. */
    requestTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

export type AgentOptions = z.input<typeof agentConfig>;
export type AgentConfig = z.output<typeof agentConfig>;
