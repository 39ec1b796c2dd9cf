import { z } from 'zod';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

export const registryConfig = z
  .object({
    /** How long a claim holds a task before another worker may take it over. */
    leaseMs: z.number().int().positive().default(30 * SECOND),
    /** Attempts a task gets before it fails for good (a task may set its own). */
    maxAttempts: z.number().int().min(1).max(100).default(3),
    /** First retry waits about this long; each further one doubles it (with jitter). */
    backoffBaseMs: z.number().int().nonnegative().default(1 * SECOND),
    backoffMaxMs: z.number().int().nonnegative().default(5 * MINUTE),
    /** Expired leases handled per sweep statement. */
    sweepBatchSize: z.number().int().positive().default(500),
    /** Finished tasks older than this may be pruned. */
    retentionMs: z.number().int().positive().default(7 * DAY),
    maxPayloadBytes: z.number().int().positive().default(1024 * 1024),
    /** A larger result fails its attempt (ORC_PROTOCOL_TOO_LARGE): every read of the task would carry it. */
    maxResultBytes: z.number().int().positive().default(1024 * 1024),
    /** Tasks one registration may carry. */
    maxBatchSize: z.number().int().positive().default(10_000),
  })
  .strict();

export type RegistryOptions = z.input<typeof registryConfig>;
export type RegistryConfig = z.output<typeof registryConfig>;
