import type { Rng } from '../protocol/index.js';

/**
 * Delay before retry number `attempt` (1 for the first retry): doubling from
 * `baseMs`, capped at `maxMs`, with jitter in [50 %, 100 %] so tasks that
 * failed together do not all come back together.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, rng: Rng): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.5 + rng.next() / 2));
}
