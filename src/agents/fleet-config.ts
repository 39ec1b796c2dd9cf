import { z } from 'zod';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** The most tests one bot may run at once, and the most it may hold waiting besides. */
export const MAX_TASKS_PER_BOT = 64;

/** The fleet's rules and timings, with the defaults of the design, written once. */
export const fleetConfig = z
  .object({
    /** A bot not heard from this long is restarted. */
    heartbeatTimeoutMs: z.number().int().positive().default(60 * SECOND),
    /** How often a bot sends its heartbeat. */
    heartbeatIntervalMs: z.number().int().positive().default(10 * SECOND),
    /** Tasks one bot runs at once. */
    maxTasksPerBot: z.number().int().min(1).max(MAX_TASKS_PER_BOT).default(3),
    /**
     * Tests handed to a bot beyond the `maxTasksPerBot` it runs, waiting for
     * its next free slot. With some waiting, a bot claims one ahead per slot
     * and starts it the moment a test ends, instead of after the bot agent's
     * next round; the cost is that a waiting test is not another bot's until
     * this one takes it or is restarted. 0: a bot holds only what it runs.
     */
    waitingPerBot: z.number().int().min(0).max(MAX_TASKS_PER_BOT).default(0),
    /** Weight of the old value in a bot's success rate: 0.9 old, 0.1 new. */
    successRateWeight: z.number().min(0).max(1).default(0.9),
    /** A bot restarted this many times within `restartWindowMs` is isolated. */
    isolateAfterRestarts: z.number().int().min(1).default(3),
    restartWindowMs: z.number().int().positive().default(10 * MINUTE),
    /** A bot whose tasks fail this many times in a row is isolated. */
    isolateAfterFailures: z.number().int().min(1).default(5),
    /** How often the bot agent checks heartbeats and hands waiting tests to bots (also on every event that frees a slot). */
    checkIntervalMs: z.number().int().positive().default(1 * SECOND),
  })
  .strict();

export type FleetOptions = z.input<typeof fleetConfig>;
export type FleetConfig = z.output<typeof fleetConfig>;
