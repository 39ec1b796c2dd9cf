import { createRng } from '../protocol/index.js';
import { classify } from './classify.js';
import { checkCombination, combinationKey, type Combination } from './combination.js';
import { proposeGeneration } from './ga.js';
import type { Observation } from './observation.js';
import { initialPopulation } from './population.js';
import { raceReserve, raceRound, raceTests, raceWarranted } from './racing.js';
import { retestCandidates } from './retest.js';
import { scoreCombinations, type Scored } from './scorer.js';
import type { Space } from './space.js';

/** What planning one generation needs to know of its study. */
export interface GenerationPlanInput {
  space: Space;
  /** The generation being planned (0 for the first). */
  generation: number;
  seed: number;
  population: number;
  testsPerCombination: number;
  /** How many of the best are tested again. */
  retests: number;
  /** Evaluations the study may still spend; Infinity without a budget. */
  budgetLeft: number;
  /** The study's whole budget, when it has one: the race at its end keeps a share of it (see racing.ts). */
  budget?: number | undefined;
  /** Every observation so far, in trial order. */
  observations: readonly Observation[];
  /** First trial of the landscape as it is now (after an environment change); 0 before any. */
  since: number;
  /** Whether this generation explores harder (the countdown after an environment change). */
  explore: boolean;
  /** Keys with a result before the drift window that ends at this generation (see `watchableKeys`). */
  watchable: ReadonlySet<string>;
  /** Combinations given to be evaluated first (a warm start); those not yet tested open the generation. */
  enqueued?: readonly Combination[];
  /** The success rate the study's recommendation asks for: the race re-tests only candidates that may reach it (see raceTests). */
  minSuccessRate?: number;
}

export interface GenerationPlan {
  /**
   * One entry per test, the key and the combination it runs: new combinations
   * first, then the retests, so the retests measure the environment as late in
   * the generation as its tests run (a change within it shows in them).
   */
  runs: { key: string; variables: Combination }[];
  retestRuns: number;
  /** Of the retests, those of the race at the end of the budget (see racing.ts); a racing generation has nothing else. */
  raceRuns: number;
  /** The elite the generation is evolved from (none for the first). */
  eliteCount: number;
}

/**
 * Plans a generation: new combinations (evolved from the current landscape's
 * evidence, or a first population), each tested `testsPerCombination` times,
 * then retests of the best, within what the budget leaves. Deterministic
 * for a seed and a generation number, so a generation planned again after a
 * crash is the same one.
 *
 * With a budget, on a landscape that is noisy or fails (raceWarranted), the
 * search stops short of the budget's last raceReserve evaluations: those
 * race the recommendation's top candidates (raceTests), a round of re-tests
 * per generation, until the order of the leader is clear. Once it is, the
 * search goes on with half of what is left each generation (at least one
 * combination's tests), and the race looks again at what it found. While
 * given combinations wait, nothing is reserved.
 */
export function planGeneration(input: GenerationPlanInput): GenerationPlan {
  const { space, generation: g, population, testsPerCombination } = input;
  const rng = createRng((input.seed * 1_000_003 + g * 7919) >>> 0);
  const tested = new Set(input.observations.map((o) => o.key));
  const current = input.observations.filter((o) => o.trial >= input.since);
  // After a change the old elite is not retested: the results that showed the change
  // are its retests already, and the few evaluations left go to the new landscape.
  const queued = untestedEnqueued(space, input.enqueued ?? [], tested);
  const scored = g === 0 ? [] : scoreCombinations(space, current);
  const eliteCount = [...classify(scored).values()].filter((c) => c === 'elite').length;
  const left = Math.max(0, Math.floor(input.budgetLeft));
  const reserve = g === 0 || queued.length > 0 || !raceWarranted(space, current) ? 0 : raceReserve(input.budget);

  /** New combinations, then retests, within `budget` evaluations (the retests' share of it is theirs first). */
  const search = (budget: number, retestCount: number): GenerationPlan => {
    // While given combinations wait, nothing else goes before them: no retests.
    const retests = g === 0 || queued.length > 0 ? [] : retestsOf(scored, retestCount, input.watchable);
    const retestRuns = Math.min(retests.length, Math.max(0, Math.floor(budget)));
    const newCount = Math.max(0, Math.min(population - retestRuns, Math.floor((budget - retestRuns) / testsPerCombination)));
    const first = queued.slice(0, newCount);
    const proposed = newCount - first.length;
    const exclude = first.length ? new Set([...tested, ...first.map((c) => combinationKey(space, c))]) : tested;
    const fresh = [
      ...first,
      ...(proposed === 0
        ? []
        : g === 0
          ? initialPopulation(space, proposed, rng, exclude)
          : proposeGeneration(space, current.length ? current : input.observations, { size: proposed, generation: g, rng, exclude, explore: input.explore ? 1 : 0 })),
    ];
    const runs: { key: string; variables: Combination }[] = [];
    for (const c of fresh) for (let i = 0; i < testsPerCombination; i++) runs.push({ key: combinationKey(space, c), variables: c });
    for (const r of retests.slice(0, retestRuns)) runs.push({ key: r.key, variables: r.combination });
    return { runs, retestRuns, raceRuns: 0, eliteCount };
  };

  if (reserve === 0) return search(input.budgetLeft, input.retests);
  if (left > reserve) {
    const plan = search(left - reserve, input.retests);
    // What is left before the reserve may pay for no whole combination's tests: the race then starts.
    if (plan.runs.length > 0) return plan;
  }
  const race = raceTests(space, input.observations, input.since, Math.min(left, raceRound(reserve)), left, input.minSuccessRate);
  if (race.length > 0) return { runs: race.map((s) => ({ key: s.key, variables: s.combination })), retestRuns: race.length, raceRuns: race.length, eliteCount };
  // The order is clear: the search goes on with half of what is left, and the race looks again at what it found.
  // Its generations retest nothing: the race watches the best.
  const plan = search(Math.min(left, Math.max(Math.ceil(left / 2), testsPerCombination)), 0);
  if (plan.runs.length > 0 || left === 0) return plan;
  // A search that finds nothing new to test (a small space, all tested) retests the best rather than plan nothing while the budget lasts.
  return search(left, Math.min(left, Math.max(1, input.retests)));
}

/** The given combinations not tested yet, in their order, each once. */
function untestedEnqueued(space: Space, enqueued: readonly Combination[], tested: ReadonlySet<string>): Combination[] {
  const seen = new Set(tested);
  const out: Combination[] = [];
  for (const c of enqueued) {
    const key = combinationKey(space, c);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(checkCombination(space, c));
  }
  return out;
}

/**
 * The best are tested again every generation: where the evaluations are
 * noisy, the least-tested of them (retestCandidates); on a deterministic
 * landscape, the best themselves, since a changed result is the only way to
 * see the environment change under them. Those go first whose earlier results
 * lie before the drift window of the generation being planned: the analysis
 * judges the elite from before its window, and a retest of a combination
 * first tested within it shows nothing.
 */
export function retestsOf(scored: readonly Scored[], count: number, watchable: ReadonlySet<string>): Scored[] {
  const chosen = retestCandidates(scored, count);
  const fill = [...scored.filter((s) => watchable.has(s.key)), ...scored.filter((s) => !watchable.has(s.key))];
  for (const s of fill) {
    if (chosen.length >= count) break;
    if (s.successes > 0 && !chosen.some((c) => c.key === s.key)) chosen.push(s);
  }
  return chosen;
}

/** Keys with a result before the drift window that ends at generation `g`: a window of generations, or of time ending `nowMs`. */
export function watchableKeys(observations: readonly Observation[], g: number, window: { windowGenerations?: number | undefined; windowMs: number }, nowMs: number): Set<string> {
  const { windowGenerations, windowMs } = window;
  const before = windowGenerations !== undefined ? (o: Observation) => o.generation < g - windowGenerations + 1 : (o: Observation) => (o.at ?? Infinity) < nowMs - windowMs;
  return new Set(observations.filter(before).map((o) => o.key));
}
