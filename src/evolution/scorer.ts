import type { Combination } from './combination.js';
import type { Observation } from './observation.js';
import { failuresRetried, type Space } from './space.js';

/**
 * How a combination's repeated tests become one score:
 *
 *   score = successRate·w.successRate + w.objective·max(0, objective − w.spread·spread)
 *
 * - `objective` is the mean of the successful values, normalised over the means
 *   observed in the same call: 1 for the best mean in the space's direction, 0 for
 *   the worst (1 for all when they are equal).
 * - `spread` is the standard deviation of the successful values over the same
 *   range of means (capped at 1). A combination tested once has no spread of its
 *   own; it is charged the pooled spread of the others, so testing a combination
 *   again never makes it look worse than leaving it untested.
 * - The objective term never goes below zero, so any combination that succeeded
 *   once scores above one that never did (score 0, as does "no results").
 */
export interface ScoreWeights {
  successRate: number;
  objective: number;
  /** Normalised objective given up per normalised standard deviation. */
  spread: number;
}

/**
 * Success rate is worth 30 % of the score: a combination that fails one test in
 * ten loses 0.03, about what 4 % of the observed objective range is worth, so a
 * reliably good combination beats a brittle best one only when they are close.
 * A spread of the whole observed range costs half of the objective term.
 */
export const DEFAULT_SCORE_WEIGHTS: Readonly<ScoreWeights> = Object.freeze({ successRate: 0.3, objective: 0.7, spread: 0.5 });

export interface Scored {
  key: string;
  combination: Combination;
  tests: number;
  successes: number;
  successRate: number;
  /** Mean of the successful values; null without a success. */
  mean: number | null;
  /** Sample standard deviation of the successful values; null with fewer than two. */
  spread: number | null;
  score: number;
}

/** A test counts as a success only with a finite value: a NaN metric is as useless as a crash. */
export const succeeded = (o: Observation): boolean => o.success && typeof o.value === 'number' && Number.isFinite(o.value);

interface Group {
  key: string;
  combination: Combination;
  tests: number;
  values: number[];
}

function groupByKey(observations: readonly Observation[]): Group[] {
  const groups = new Map<string, Group>();
  for (const o of observations) {
    let g = groups.get(o.key);
    if (!g) groups.set(o.key, (g = { key: o.key, combination: o.combination, tests: 0, values: [] }));
    g.tests++;
    if (succeeded(o)) g.values.push(o.value as number);
  }
  return [...groups.values()];
}

function meanOf(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/**
 * Sample standard deviation, computed on the deviations from the first value so
 * that repeats of one value give exactly 0: a mean of identical values can
 * differ from them in the last bit, and a spread of 1e-16 would read as noise.
 */
function sampleStd(values: readonly number[]): number {
  const first = values[0]!;
  let sum = 0;
  for (const v of values) sum += v - first;
  const shift = sum / values.length;
  let s = 0;
  for (const v of values) s += (v - first - shift) ** 2;
  return Math.sqrt(s / (values.length - 1));
}

/**
 * The noise level of the landscape as far as repeated tests show it: the pooled
 * within-combination standard deviation, or null when nothing was tested twice.
 */
export function pooledSpread(scored: readonly Pick<Scored, 'successes' | 'spread'>[]): number | null {
  let ss = 0;
  let dof = 0;
  for (const s of scored) {
    if (s.spread === null || s.successes < 2) continue;
    ss += s.spread ** 2 * (s.successes - 1);
    dof += s.successes - 1;
  }
  return dof > 0 ? Math.sqrt(ss / dof) : null;
}

/** Orders best first; ties go to more evidence, then to the key, so the order never depends on input order. */
export function compareScored(a: Scored, b: Scored): number {
  return b.score - a.score || b.tests - a.tests || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** One entry per tested combination, best first. */
export function scoreCombinations(
  space: Space,
  observations: readonly Observation[],
  weights: ScoreWeights = DEFAULT_SCORE_WEIGHTS,
): Scored[] {
  const sign = space.objective.direction === 'minimize' ? -1 : 1;
  // With failures retried, a combination's cost is per success: its mean over its (Laplace-smoothed) success rate.
  const retried = failuresRetried(space);
  const objectiveOf = (s: Scored): number => sign * (retried ? s.mean! / ((s.successes + 1) / (s.tests + 2)) : s.mean!);
  const partial = groupByKey(observations).map((g) => {
    const mean = g.values.length ? meanOf(g.values) : null;
    return {
      key: g.key,
      combination: g.combination,
      tests: g.tests,
      successes: g.values.length,
      successRate: g.tests ? g.values.length / g.tests : 0,
      mean,
      spread: mean !== null && g.values.length >= 2 ? sampleStd(g.values) : null,
      score: 0,
    } satisfies Scored;
  });

  let best = -Infinity;
  let worst = Infinity;
  for (const s of partial) {
    if (s.mean === null) continue;
    best = Math.max(best, objectiveOf(s));
    worst = Math.min(worst, objectiveOf(s));
  }
  const range = best > worst ? best - worst : 0;
  const pooled = pooledSpread(partial) ?? 0;

  for (const s of partial) {
    if (s.mean === null) continue; // no success: score stays 0
    const objective = range > 0 ? (objectiveOf(s) - worst) / range : 1;
    const spread = range > 0 ? Math.min(1, (s.spread ?? pooled) / range) : 0;
    s.score = weights.successRate * s.successRate + weights.objective * Math.max(0, objective - weights.spread * spread);
  }
  return partial.sort(compareScored);
}
