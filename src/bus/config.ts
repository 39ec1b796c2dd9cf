import { z } from 'zod';

const SECOND = 1000;

export const busConfig = z
  .object({
    /** How long `request` waits for its response. */
    requestTimeoutMs: z.number().int().positive().default(30 * SECOND),
    /** Redis: a message unacknowledged this long by a consumer is given to another replica. */
    claimIdleMs: z.number().int().positive().default(30 * SECOND),
    /** Redis: how often each inbox reader looks for such messages. */
    claimIntervalMs: z.number().int().positive().default(5 * SECOND),
    /** Redis: how long one blocking read waits before it is issued again. */
    blockMs: z.number().int().positive().default(2 * SECOND),
    /** Messages an inbox keeps before the oldest are trimmed (approximately). */
    inboxMaxLen: z.number().int().positive().default(100_000),
    /** Events a topic keeps before the oldest are trimmed (approximately). */
    topicMaxLen: z.number().int().positive().default(10_000),
    /** A message delivered this many times without being acknowledged is dead-lettered. */
    maxDeliveries: z.number().int().min(1).default(5),
    maxMessageBytes: z.number().int().positive().default(1024 * 1024),
  })
  .strict();

export type BusOptions = z.input<typeof busConfig>;
export type BusConfig = z.output<typeof busConfig>;
