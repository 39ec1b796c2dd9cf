import type { Clock } from '../protocol/index.js';

export interface ReportRetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  backoffMs: number;
  backoffMaxMs: number;
}

/** Wait before try `n + 1` after `n` failed: doubling, capped. No jitter: one worker's own reports do not stampede. */
export const reportDelayMs = (failedTries: number, policy: ReportRetryPolicy): number =>
  Math.min(policy.backoffMaxMs, policy.backoffMs * 2 ** Math.max(0, failedTries - 1));

/**
 * Sends a report until the store takes it or the tries run out, waiting on
 * the clock between tries; rethrows the last error. Sending again is safe
 * under fencing: when a try reached the store but its answer was lost, the
 * next one is kept as a late report and changes nothing. `tries` tells the
 * caller when that may have happened.
 */
export async function sendWithRetries<T>(
  send: () => Promise<T>,
  policy: ReportRetryPolicy,
  clock: Clock,
  onRetry: (err: unknown, failedTries: number, delayMs: number) => void,
): Promise<{ value: T; tries: number }> {
  for (let failed = 0; ; ) {
    try {
      return { value: await send(), tries: failed + 1 };
    } catch (err) {
      failed++;
      if (failed >= policy.attempts) throw err;
      const delayMs = reportDelayMs(failed, policy);
      onRetry(err, failed, delayMs);
      await clock.sleep(delayMs);
    }
  }
}
