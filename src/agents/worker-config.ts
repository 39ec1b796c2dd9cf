import { z } from 'zod';

export const workerConfig = z
  .object({
    /** Handlers running at once; the worker never claims more than it has free slots for. */
    concurrency: z.number().int().min(1).max(1024).default(4),
    /** Claims are also tried on this timer, so a lost wake-up only delays work. */
    pollIntervalMs: z.number().int().positive().default(1_000),
    /** Lease asked for on each claim; default: the registry's. */
    leaseMs: z.number().int().positive().optional(),
    /** How often held leases are renewed; default: a third of the lease. */
    renewEveryMs: z.number().int().positive().optional(),
    /** On stop, how long running handlers may take to finish before they are released. */
    shutdownGraceMs: z.number().int().nonnegative().default(10_000),
    /**
     * How often this worker returns tasks whose lease expired (their worker
     * died) to the queue; 0 turns it off. Sweeps from many workers are safe.
     */
    sweepIntervalMs: z.number().int().nonnegative().default(30_000),
    /** Most tasks taken in one claim; default: all free slots. */
    claimBatchSize: z.number().int().positive().optional(),
  })
  .strict();

export type WorkerOptions = z.input<typeof workerConfig>;
export type WorkerConfig = z.output<typeof workerConfig>;
