import { z } from 'zod';
import { OrchestraError, toValidationError } from '../protocol/index.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export const workerConfig = z
  .object({
    /** Handlers running at once; beyond the free slots the worker claims only what `prefetch` allows. */
    concurrency: z.number().int().min(1).max(1024).default(4),
    /** Claims are also tried on this timer, so a lost wake-up only delays work. */
    pollIntervalMs: z.number().int().positive().default(1 * SECOND),
    /** Lease asked for on each claim; default: the registry's `leaseMs`. */
    leaseMs: z.number().int().positive().optional(),
    /** How often held leases are renewed; default: a third of the lease, so two renewals may fail before it runs out. */
    renewEveryMs: z.number().int().positive().optional(),
    /** On stop, how long running handlers may take to finish before they are aborted and released. */
    shutdownGraceMs: z.number().int().nonnegative().default(10 * SECOND),
    /**
     * How often this worker returns tasks whose lease expired (their worker
     * died) to the queue; 0 turns it off. Sweeps from many workers are safe:
     * the sweep skips rows another sweep holds.
     */
    sweepIntervalMs: z.number().int().nonnegative().default(30 * SECOND),
    /**
     * How long one attempt may run before its handler's signal is aborted and
     * the attempt fails with ORC_WORKER_RUN_TIMEOUT (retried as usual); the
     * slot is freed then, whether or not the handler heeds the signal. A task's
     * own `timeoutMs` wins, then `runTimeoutMsByKind`, then this.
     */
    runTimeoutMs: z.number().int().positive().default(30 * MINUTE),
    runTimeoutMsByKind: z.record(z.string(), z.number().int().positive()).default({}),
    /** Most tasks taken in one claim; default: all free slots. */
    claimBatchSize: z.number().int().positive().optional(),
    /**
     * Tasks claimed beyond the free slots, started as slots free. Default:
     * as many as `concurrency` while handlers finish faster than a statement
     * at the store takes (each statement then carries more reports), none
     * otherwise. 0 never claims ahead.
     */
    prefetch: z.number().int().min(0).max(1024).optional(),
    /**
     * A result the store refused (it is briefly down) is sent again after
     * this delay, doubling up to `reportBackoffMaxMs`, `reportAttempts` times in
     * all: with the defaults about 28 s, near one default lease, after which
     * the lease has run out anyway and the task will run again elsewhere.
     */
    reportAttempts: z.number().int().min(1).max(100).default(10),
    reportBackoffMs: z.number().int().positive().default(250),
    reportBackoffMaxMs: z.number().int().positive().default(5 * SECOND),
  })
  .strict();

export type WorkerOptions = z.input<typeof workerConfig>;
export type WorkerConfig = z.output<typeof workerConfig>;
/** The configuration a worker runs with: every timing settled. */
export type ResolvedWorkerConfig = WorkerConfig & { leaseMs: number; renewEveryMs: number };

/**
 * Applies the defaults and the registry's lease, and refuses settings that
 * contradict each other rather than letting leases expire under running tasks.
 */
export function resolveWorkerConfig(options: WorkerOptions | undefined, registryLeaseMs: number): ResolvedWorkerConfig {
  const parsed = workerConfig.safeParse(options ?? {});
  if (!parsed.success) {
    throw new OrchestraError('ORC_CONFIG_INVALID', toValidationError('worker configuration', parsed.error, options).message);
  }
  const leaseMs = parsed.data.leaseMs ?? registryLeaseMs;
  const renewEveryMs = parsed.data.renewEveryMs ?? Math.max(1, Math.floor(leaseMs / 3));
  if (renewEveryMs >= leaseMs) {
    throw new OrchestraError(
      'ORC_CONFIG_INVALID',
      `invalid worker configuration: renewEveryMs (${renewEveryMs}) must be shorter than the lease (${leaseMs} ms), or leases expire under running tasks`,
    );
  }
  return { ...parsed.data, leaseMs, renewEveryMs };
}
