import { compareScored, pooledSpread, type Scored } from './scorer.js';

/** Past this many tests a combination's mean is known well enough; more tests go to others. */
export const MAX_RETESTS = 5;

/**
 * Which combinations to test again before one is promoted as the best: noise
 * makes a combination tested once look better than it is (the winner's curse),
 * and only repeated tests reveal it.
 *
 * Candidates are the top of the ranking that succeeded at least once and have
 * fewer than MAX_RETESTS tests; among the best 2·count of those, the least tested
 * come first (ties by score). When every combination tested twice or more gave the
 * same value each time, the landscape is deterministic and nothing is worth
 * retesting: the list is empty.
 */
export function retestCandidates(scored: readonly Scored[], count: number): Scored[] {
  if (count <= 0) return [];
  const ordered = [...scored].sort(compareScored);
  const repeated = ordered.filter((s) => s.spread !== null);
  if (repeated.length > 0 && pooledSpread(repeated) === 0) return [];
  const pool = ordered.filter((s) => s.successes > 0 && s.tests < MAX_RETESTS).slice(0, 2 * count);
  // Stable sort keeps score order among equally tested candidates.
  return pool.sort((a, b) => a.tests - b.tests).slice(0, count);
}
