import { dimsOf, encode } from './encoding.js';
import type { Observation } from './observation.js';
import { DEFAULT_SCORE_WEIGHTS, pooledSpread, scoreCombinations, type Scored } from './scorer.js';
import { failuresRetried, type Space } from './space.js';
import { SuccessModel } from './success-model.js';
import { features } from './surrogate.js';
import { smoothMeans } from './smoothing.js';

export interface RecommendOptions {
  /** Only observations with `trial >= since` count: the landscape as it has been since a drift. */
  since?: number;
  /** With failures retried, the success model of exactly these observations, when the caller has fitted it already. */
  successModel?: SuccessModel;
}

/** Beyond this many successful combinations the smoothing (O(n³) per grid point) uses only the best of them. */
const MAX_SMOOTHED = 200;

/** Noise-aware estimates of each combination's mean: see smoothMeans. */
function smoothedMeans(space: Space, scored: readonly Scored[], noise: number): number[] {
  const dims = dimsOf(space);
  const xs = scored.map((s) => features(dims, encode(space, s.combination)));
  return smoothMeans(xs, scored.map((s) => s.mean!), scored.map((s) => (noise * noise) / s.successes));
}

/**
 * The best combination for the landscape as it is now; only combinations that
 * succeeded count. On a deterministic landscape that is the top of
 * `scoreCombinations`. When repeated tests show noise (a pooled spread above
 * zero) a single lucky test must not win, so candidates are ranked by the same
 * score formula with two estimates made robust:
 * - the mean is the smoothed mean (see smoothedMeans), normalised over the
 *   candidates;
 * - the success rate is shrunk toward the overall success rate as if two more
 *   tests at that rate had been made: one failure in three tests says little when
 *   one test in ten fails anyway.
 * The returned entry is the one `scoreCombinations` produced (its own score).
 */
export function recommend(space: Space, observations: readonly Observation[], options: RecommendOptions = {}): Scored | undefined {
  return rankForRecommendation(space, observations, options)[0];
}

/**
 * Every combination that succeeded, in the order `recommend` prefers them
 * (its first is `recommend`'s answer), so a caller that filters them (a
 * minimum success rate, a class) takes the first that passes. Beyond
 * MAX_SMOOTHED successful combinations only the best-scored are ranked.
 */
export function rankForRecommendation(space: Space, observations: readonly Observation[], options: RecommendOptions = {}): Scored[] {
  const since = options.since;
  const recent = since === undefined ? observations : observations.filter((o) => o.trial >= since);
  const all = scoreCombinations(space, recent);
  const scored = all.filter((s) => s.successes > 0).slice(0, MAX_SMOOTHED);
  if (scored.length === 0) return [];
  const noise = pooledSpread(scored) ?? 0;
  if (failuresRetried(space)) return byCostPerSuccess(space, options.successModel ?? new SuccessModel(space, recent), scored, noise);
  if (noise === 0) return scored;

  const sign = space.objective.direction === 'minimize' ? -1 : 1;
  const means = smoothedMeans(space, scored, noise).map((m) => sign * m);
  let lo = Infinity;
  let hi = -Infinity;
  for (const m of means) {
    lo = Math.min(lo, m);
    hi = Math.max(hi, m);
  }
  let tests = 0;
  let successes = 0;
  for (const s of all) {
    tests += s.tests;
    successes += s.successes;
  }
  const overall = successes / tests;
  const w = DEFAULT_SCORE_WEIGHTS;
  const ranked = scored.map((s, i) => {
    const rate = (s.successes + 2 * overall) / (s.tests + 2);
    return { s, value: w.successRate * rate + w.objective * (hi > lo ? (means[i]! - lo) / (hi - lo) : 1) };
  });
  // A stable sort: equal values keep the score order, so ties never depend on input order.
  return ranked.sort((a, b) => b.value - a.value).map((r) => r.s);
}

/**
 * With failures retried, the expected cost of one success: each candidate's
 * mean (smoothed when tests are noisy) over its probability of success as the
 * success model estimates it from every evaluation near it, taken at the low
 * end of its 95 % interval. Lowest first.
 */
function byCostPerSuccess(space: Space, model: SuccessModel, scored: readonly Scored[], noise: number): Scored[] {
  const means = noise > 0 ? smoothedMeans(space, scored, noise) : scored.map((s) => s.mean!);
  // Judged on the interval's low end: a cheap combination whose success rests on little evidence is not taken on hope.
  const costs = scored.map((s, i) => ({ s, cost: means[i]! / Math.max(1e-6, model.estimate(s.combination).low) }));
  // A stable sort: equal costs keep the score order.
  return costs.sort((a, b) => a.cost - b.cost).map((c) => c.s);
}
