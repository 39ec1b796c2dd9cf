import type { Observation } from './observation.js';
import { isNoisy } from './retest.js';
import { pooledSpread, scoreCombinations, succeeded, type Scored } from './scorer.js';
import { failuresRetried, type Space } from './space.js';
import { rankForRecommendation } from './recommend.js';
import { mayReach, SuccessModel, type SuccessEstimate } from './success-model.js';
import { successFloor } from './study.js';

/**
 * The share of a budget kept for the race at its end. A race re-tests the
 * top RACE_SIZE candidates: at a budget of 100 the reserve (12) gives each
 * of four about three more tests, which halves the standard error of one
 * tested once (1/√4) — about what it takes to tell a truly better candidate
 * from a lucky single test two standard errors off. A larger share would
 * starve the search, whose last generations still improve the best at such
 * budgets (the optimizer bench's noisy landscapes at 100); what a race does
 * not need goes back to the search anyway.
 */
export const RACE_SHARE = 0.12;
/** The least reserve: fewer tests than this cannot tell even two candidates apart. */
export const MIN_RACE = 4;
/** How many of the recommendation's top candidates race: the leader and its closest challengers. */
export const RACE_SIZE = 4;
/**
 * The order of the leader and a challenger is clear when their estimates
 * stand this many standard errors of their difference apart: a 95 %
 * interval of the difference that excludes zero.
 */
export const RACE_Z = 1.96;

/**
 * Evaluations kept for the race at the end of a budget: RACE_SHARE of it, at
 * least MIN_RACE, never more than a quarter of a small budget. 0 without a
 * budget: a study that runs until stopped has no end to race toward.
 */
export function raceReserve(budget: number | undefined): number {
  if (budget === undefined || !Number.isFinite(budget)) return 0;
  return Math.min(Math.floor(budget / 4), Math.max(MIN_RACE, Math.ceil(RACE_SHARE * budget)));
}

/** Race tests per generation: a third of the reserve, so the race looks at its results about three times before it ends. */
export const raceRound = (reserve: number): number => Math.max(1, Math.ceil(reserve / 3));

/**
 * Whether the evidence asks for a race: some evaluation failed, or repeated
 * tests of one combination disagree (beyond rounding: see isNoisy). A
 * deterministic landscape without failures ranks its candidates exactly as
 * measured, and no re-test would change that order.
 */
export function raceWarranted(space: Space, observations: readonly Observation[]): boolean {
  if (observations.some((o) => !succeeded(o))) return true;
  return isNoisy(scoreCombinations(space, observations));
}

/** One racing candidate: where it stands and how well that is known. */
interface Runner {
  s: Scored;
  /** Its estimate, in the objective's units: the mean, or with failures retried the cost per success. */
  center: number;
  /** Its estimate's variance after `extra` more tests of it. */
  variance: (extra: number) => number;
}

/**
 * The race's next `count` tests (at most), `horizon` being what the race may
 * still spend: re-tests of the top RACE_SIZE candidates of the
 * recommendation's own ranking (rankForRecommendation), none when the order
 * of the leader is clear. As the recommendation does, it passes over those
 * whose success the evidence shows below `minSuccessRate` (mayReach), while
 * any other remains: a candidate the recommendation would not take gets no
 * re-tests.
 *
 * The order of the leader and a challenger is clear when their estimates lie
 * RACE_Z standard errors of the difference apart, either way: a challenger
 * known to be worse is no threat, and one known to be better but ranked
 * below (for its success rate, or what its neighbours say) is where the
 * ranking means it to be. A challenger that not even the whole horizon of
 * tests could set that far apart, spent on the two of them, is as good as
 * tied with the leader at this budget: which of two such the recommendation
 * takes changes little, and those tests find more in the search, so it is
 * not raced.
 *
 * Each test goes to the least clear challenger (the smallest standardised
 * gap) or to the leader, whichever of the two is the less known; tests given
 * count as made (their standard error shrinks, their estimate stays), so a
 * round of several spreads over the uncertain pairs. Nothing is random: the
 * same evidence gives the same tests.
 *
 * The estimates are the candidates' own tests: the mean of their successful
 * values, a test's noise being the study's pooled spread; with failures
 * retried, the mean over the probability of success the success model
 * estimates (as the ranking does), its variance from both (delta method), a
 * test adding one evaluation's weight to the model's evidence at the
 * candidate. Candidates measured without noise, whose estimates no test can
 * move, are clear whatever their order.
 */
export function raceTests(space: Space, observations: readonly Observation[], since: number, count: number, horizon = count, minSuccessRate = 0): Scored[] {
  if (count <= 0) return [];
  // The evidence the recommendation judges on: since the last change, or all of it while nothing since has succeeded.
  let evidence = observations.filter((o) => o.trial >= since);
  if (since > 0 && !evidence.some(succeeded)) evidence = [...observations];
  const retried = failuresRetried(space);
  const floor = successFloor(space, minSuccessRate);
  // Fitted once: the ranking judges cost per success, and the filter success, on the same model the race's estimates use.
  const model = retried || floor > 0 ? new SuccessModel(space, evidence) : undefined;
  const ranked = rankForRecommendation(space, evidence, model ? { successModel: model } : {});
  // The candidates the recommendation would take, as it takes them: those whose success may reach the rate, while any does.
  const top = model && floor > 0 ? takeFirst(ranked, RACE_SIZE, (s) => mayReach(s, model.estimate(s.combination), floor)) : [];
  if (top.length === 0) top.push(...ranked.slice(0, RACE_SIZE));
  if (top.length < 2) return [];
  const noise = pooledSpread(scoreCombinations(space, evidence)) ?? 0;
  const runners = top.map((s) => runnerOf(s, noise, retried ? model?.estimate(s.combination) : undefined));
  const leader = runners[0]!;
  // How far apart the leader and challenger i stand, in standard errors of their difference, after eL and eI more tests.
  const gap = (i: number, eL: number, eI: number): number => {
    const sd = Math.sqrt(leader.variance(eL) + runners[i]!.variance(eI));
    return sd > 0 ? Math.abs(runners[i]!.center - leader.center) / sd : Infinity;
  };
  const resolvable = (i: number): boolean => {
    let eL = 0;
    let eI = 0;
    for (let t = 0; t < horizon; t++) {
      if (runners[i]!.variance(eI) > leader.variance(eL)) eI++;
      else eL++;
    }
    return gap(i, eL, eI) >= RACE_Z;
  };
  const contenders = runners.map((_, i) => i).filter((i) => i > 0 && resolvable(i));
  const extra = runners.map(() => 0);
  const out: Scored[] = [];
  while (out.length < count) {
    let closest = -1;
    let least = RACE_Z;
    for (const i of contenders) {
      const z = gap(i, extra[0]!, extra[i]!);
      if (z < least) {
        least = z;
        closest = i;
      }
    }
    if (closest < 0) break;
    // Between equals the leader goes first: it is the one recommended.
    const pick = runners[closest]!.variance(extra[closest]!) > leader.variance(extra[0]!) ? closest : 0;
    extra[pick]!++;
    out.push(runners[pick]!.s);
  }
  return out;
}

/** The first `n` of `items` that pass `test`, testing no more than it takes to find them. */
function takeFirst<T>(items: readonly T[], n: number, test: (item: T) => boolean): T[] {
  const out: T[] = [];
  for (const item of items) {
    if (out.length === n) break;
    if (test(item)) out.push(item);
  }
  return out;
}

function runnerOf(s: Scored, noise: number, success: SuccessEstimate | undefined): Runner {
  const mean = s.mean!;
  const meanVariance = (extra: number) => (noise * noise) / (s.successes + extra);
  if (!success) return { s, center: mean, variance: meanVariance };
  const p = success.p;
  const pq = p * (1 - p);
  // The model's interval is ±1.96·√(pq / n) for an evidence weight n (before clipping to [0, 1]).
  const half = Math.max(success.high - p, p - success.low);
  const n = half > 0 ? pq * (1.96 / half) ** 2 : Infinity;
  // Var(m / p) ≈ Var(m) / p² + m² Var(p) / p⁴.
  return { s, center: mean / p, variance: (extra) => meanVariance(extra) / (p * p) + (mean * mean * pq) / (n + extra) / p ** 4 };
}
