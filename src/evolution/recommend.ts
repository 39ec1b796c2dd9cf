import type { Observation } from './observation.js';
import { DEFAULT_SCORE_WEIGHTS, pooledSpread, scoreCombinations, type Scored } from './scorer.js';
import type { Space } from './space.js';

export interface RecommendOptions {
  /** Only observations with `trial >= since` count: the landscape as it has been since a drift. */
  since?: number;
}

/**
 * The best combination for the landscape as it is now. Only combinations that
 * succeeded count. When repeated tests show noise (a pooled spread above zero),
 * a single lucky test must not win: only combinations that succeeded at least
 * twice are eligible (if there are any), and each is ranked by its score with the
 * mean moved one standard error (pooled noise / √successes) against the
 * objective, so more evidence wins ties of hope.
 * The returned entry is the one `scoreCombinations` produced (same score).
 */
export function recommend(space: Space, observations: readonly Observation[], options: RecommendOptions = {}): Scored | undefined {
  const since = options.since;
  const recent = since === undefined ? observations : observations.filter((o) => o.trial >= since);
  const scored = scoreCombinations(space, recent).filter((s) => s.successes > 0);
  if (scored.length === 0) return undefined;
  const noise = pooledSpread(scored) ?? 0;
  if (noise === 0) return scored[0];
  // Noise is real: promote only a confirmed combination when one exists (retestCandidates says which to confirm).
  const confirmed = scored.filter((s) => s.successes >= 2);
  const eligible = confirmed.length ? confirmed : scored;

  let lo = Infinity;
  let hi = -Infinity;
  for (const s of eligible) {
    lo = Math.min(lo, s.mean!);
    hi = Math.max(hi, s.mean!);
  }
  const range = hi - lo || 1;
  const w = DEFAULT_SCORE_WEIGHTS.objective;
  let best = eligible[0]!;
  let bestValue = -Infinity;
  for (const s of eligible) {
    const value = s.score - (w * noise) / Math.sqrt(s.successes) / range;
    if (value > bestValue) [best, bestValue] = [s, value];
  }
  return best;
}
