import { compareScored, pooledSpread, type Scored } from './scorer.js';

/** Past this many tests a combination's mean is known well enough; more tests go to others. */
export const MAX_RETESTS = 5;

/**
 * Repeats of one value spread by rounding alone: the standard deviation of three
 * copies of 2.86 computes as 5e-16, not 0. A spread within this share of the
 * values is no spread.
 */
const SAME_VALUE = 1e-9;

/**
 * Which combinations to test again before one is promoted as the best: noise
 * makes a combination tested once look better than it is (the winner's curse),
 * and only repeated tests reveal it.
 *
 * Candidates are the top of the ranking that succeeded at least once and have
 * fewer than MAX_RETESTS tests; among the best 2·count of those, the least tested
 * come first (ties by score). When every combination tested twice or more gave the
 * same value each time (to rounding), the landscape is deterministic and nothing is
 * worth retesting: the list is empty.
 */
export function retestCandidates(scored: readonly Scored[], count: number): Scored[] {
  if (count <= 0) return [];
  const ordered = [...scored].sort(compareScored);
  if (ordered.some((s) => s.spread !== null) && !isNoisy(ordered)) return [];
  const pool = ordered.filter((s) => s.successes > 0 && s.tests < MAX_RETESTS).slice(0, 2 * count);
  // Stable sort keeps score order among equally tested candidates.
  return pool.sort((a, b) => a.tests - b.tests).slice(0, count);
}

/**
 * Whether repeated tests of one combination gave different values: a pooled
 * spread beyond rounding (SAME_VALUE of the values). False while nothing was
 * tested twice.
 */
export function isNoisy(scored: readonly Scored[]): boolean {
  const repeated = scored.filter((s) => s.spread !== null);
  if (repeated.length === 0) return false;
  return (pooledSpread(repeated) ?? 0) > SAME_VALUE * Math.max(0, ...repeated.map((s) => Math.abs(s.mean ?? 0)));
}
