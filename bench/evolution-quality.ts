/**
 * Search quality of the evolution part at the budgets users live at: Orchestra's
 * generations (GA + model-guided proposals, retests, drift handling) against plain
 * random search, on the landscapes of bench/functions.ts.
 *
 *   node --import tsx bench/evolution-quality.ts [--seeds 21] [--budgets 100,400] [--only sphere] [--tuning '{"localShare":0.2}']
 *
 * `--tuning` overrides knobs of the search (SearchTuning in src/evolution/tuning.ts),
 * for trying a setting against the defaults' report.
 *
 * Regret = |exact(recommend().combination) − optimum|, noise-free, on the landscape
 * as it is at the end. Everything is seeded: the same command prints the same table.
 */
import { pathToFileURL } from 'node:url';
import { createRng, type Rng } from '../src/protocol/index.js';
import {
  combinationKey,
  detectDrift,
  proposeGeneration,
  recommend,
  retestCandidates,
  SEARCH_DEFAULTS,
  scoreCombinations,
  type Combination,
  type Observation,
  type SearchTuning,
} from '../src/evolution/index.js';
import { benchFunctions, type BenchFunction } from './functions.js';
import { printTable } from './stats.js';

export const populationFor = (budget: number) => Math.max(2, Math.min(50, Math.floor(budget / 5)));

/** Retests spent per generation on the top combinations (noise handling); none once the landscape proves deterministic. */
const retestsFor = (pop: number) => Math.max(2, Math.round(pop / 10));

interface Run {
  observations: Observation[];
  evaluate(c: Combination, generation: number): Observation;
}

function startRun(fn: BenchFunction, evalRng: Rng): Run {
  const observations: Observation[] = [];
  return {
    observations,
    evaluate(c, generation) {
      const trial = observations.length;
      const r = fn.evaluate(c, trial, evalRng);
      const o: Observation = { key: combinationKey(fn.space, c), combination: c, success: r.success, value: r.value, generation, trial };
      observations.push(o);
      return o;
    },
  };
}

const regretOf = (fn: BenchFunction, c: Combination | undefined) => (c ? Math.abs(fn.exact(c) - fn.optimum) : Number.POSITIVE_INFINITY);

/**
 * Where a value ranks among a reference set of successful values (1 = at least as
 * good as all): a scale-free, higher-is-better score for drift checks. The
 * reference is the first generation of the current landscape: spread over the
 * whole space, so a noisy retest of a good combination still ranks near the top,
 * while a combination the landscape moved away from falls among the ordinary ones.
 */
function percentileScore(fn: BenchFunction, value: number, observations: readonly Observation[]): number {
  const sign = fn.space.objective.direction === 'minimize' ? 1 : -1;
  let n = 0;
  let beaten = 0;
  for (const o of observations) {
    if (!o.success || o.value === null) continue;
    n++;
    if (sign * value <= sign * o.value) beaten++;
  }
  return n ? beaten / n : 1;
}

/**
 * Orchestra as the VariableAgent would drive it: an initial population, then per
 * generation a few retests of the top (none once the landscape proves
 * deterministic), one retest of the current best to watch for drift, and the next
 * generation; the last generation leaves room for a final round of retests.
 */
export function runOrchestra(fn: BenchFunction, budget: number, seed: number, tuning: Partial<SearchTuning> = {}): number {
  const rng = createRng(seed);
  const run = startRun(fn, createRng(seed ^ 0x5bd1e995));
  let pop = populationFor(budget);
  const retests = retestsFor(pop);
  const { space } = fn;
  let since = 0;
  let explore = 0;
  let series: { at: number; score: number }[] = [];
  const left = () => budget - run.observations.length;
  const current = () => run.observations.filter((o) => o.trial >= since);

  let generation = 0;
  /**
   * Retests the current best; when its score fell more than 20 % below its baseline
   * (detectDrift, window = one generation of trials), forgets the old landscape.
   */
  const driftCheck = (): void => {
    const best = recommend(space, run.observations, { since });
    if (!best || left() <= 0) return;
    const o = run.evaluate(best.combination, generation);
    if (!o.success || o.value === null) return;
    series.push({ at: o.trial, score: percentileScore(fn, o.value, current().slice(0, pop)) });
    if (!detectDrift(series, { windowMs: pop, threshold: 0.2, now: o.trial }).changed) return;
    // The landscape moved somewhere since the previous check; which of the tests in
    // between saw the old landscape is unknown, so keep only this retest and start over.
    since = o.trial;
    // Half-way exploration (the search's knob, fading by half per generation): the tried
    // values 0, 0.5 and 1 were within noise of each other at budget 400, 0.5 best at 100.
    explore = 0.5;
    // A new landscape is a new experiment: its population follows the same rule on the
    // budget that is left (20 → 7 at budget 100), so the model learns between smaller batches.
    pop = populationFor(left());
    series = [{ at: o.trial, score: 1 }];
  };
  for (; left() > 0; generation++) {
    if (generation > 0) {
      // First the drift check, so a moved landscape wastes no retests on stale results.
      driftCheck();
      for (const s of retestCandidates(scoreCombinations(space, current()), Math.min(retests, left()))) {
        run.evaluate(s.combination, generation);
      }
    }
    if (left() <= 0) break;
    const observations = current();
    // The last generation leaves room for one more round of retests before the recommendation.
    const retestsWanted = retestCandidates(scoreCombinations(space, observations), retests).length;
    const reserve = left() <= pop + retestsWanted ? retestsWanted : 0;
    if (left() - reserve <= 0) break;
    const proposals = proposeGeneration(space, observations, {
      size: Math.min(pop, left() - reserve),
      generation,
      rng,
      exclude: new Set(observations.map((o) => o.key)),
      explore,
      tuning,
    });
    if (proposals.length === 0) break;
    for (const c of proposals) run.evaluate(c, generation);
    // Exploration fades over the generations after a change.
    explore /= 2;
  }
  for (const s of retestCandidates(scoreCombinations(space, current()), left())) run.evaluate(s.combination, generation);
  return regretOf(fn, recommend(space, run.observations, { since })?.combination);
}

/** Plain random search: uniform draws (unit cube mapped through each variable), no repeats, best observed. */
export function runRandom(fn: BenchFunction, budget: number, seed: number): number {
  const rng = createRng(seed);
  const run = startRun(fn, createRng(seed ^ 0x5bd1e995));
  const seen = new Set<string>();
  for (let attempts = 0; run.observations.length < budget && attempts < budget * 50; attempts++) {
    const [c] = proposeUniform(fn, rng);
    const key = combinationKey(fn.space, c);
    if (seen.has(key)) continue;
    seen.add(key);
    run.evaluate(c, 0);
  }
  return regretOf(fn, recommend(fn.space, run.observations)?.combination);
}

function proposeUniform(fn: BenchFunction, rng: Rng): [Combination] {
  const c: Combination = {};
  for (const [name, v] of Object.entries(fn.space.variables)) {
    const u = rng.next();
    switch (v.type) {
      case 'bool':
        c[name] = u < 0.5;
        break;
      case 'categorical':
        c[name] = v.choices[Math.min(v.choices.length - 1, Math.floor(u * v.choices.length))]!;
        break;
      case 'int': {
        const x = v.log ? Math.exp(Math.log(v.min - 0.5) + u * (Math.log(v.max + 0.5) - Math.log(v.min - 0.5))) : v.min - 0.5 + u * (v.max - v.min + 1);
        c[name] = Math.min(v.max, Math.max(v.min, Math.round(x)));
        break;
      }
      case 'float':
        c[name] = v.log ? Math.exp(Math.log(v.min) + u * (Math.log(v.max) - Math.log(v.min))) : v.min + u * (v.max - v.min);
        break;
    }
  }
  return [c];
}

/** Linear-interpolated quantile of a sorted list. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const fmtRegret = (x: number) => (x === 0 ? '0' : x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(2));

/** `--tuning`'s JSON: an object of known knobs, each a number (or, for meritWeights, an array of numbers). */
function parseTuning(text: string | undefined): Partial<SearchTuning> {
  if (text === undefined) return {};
  let given: unknown;
  try {
    given = JSON.parse(text);
  } catch (err) {
    throw new Error(`--tuning is not JSON (${err instanceof Error ? err.message : String(err)}): ${text}`);
  }
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new Error(`--tuning must be a JSON object of knobs, got ${text}`);
  for (const [key, value] of Object.entries(given)) {
    if (!(key in SEARCH_DEFAULTS)) throw new Error(`--tuning: unknown knob "${key}"; the knobs are ${Object.keys(SEARCH_DEFAULTS).join(', ')}`);
    const ok = key === 'meritWeights' ? Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number' && Number.isFinite(v)) : typeof value === 'number' && Number.isFinite(value);
    if (!ok) throw new Error(`--tuning: ${key} must be ${key === 'meritWeights' ? 'a non-empty array of numbers' : 'a finite number'}, got ${JSON.stringify(value)}`);
  }
  return given as Partial<SearchTuning>;
}

function main(): void {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const seeds = Number(flag('seeds') ?? 21);
  const budgets = (flag('budgets') ?? '100,400').split(',').map(Number);
  const only = flag('only');
  const tuning = parseTuning(flag('tuning'));
  const rows: string[][] = [];
  const range = (xs: number[]) => `${fmtRegret(quantile(xs, 0.5))} (${fmtRegret(quantile(xs, 0.25))}–${fmtRegret(quantile(xs, 0.75))})`;
  for (const budget of budgets) {
    for (const fn of benchFunctions(budget)) {
      if (only && !fn.name.includes(only)) continue;
      const orchestra: number[] = [];
      const random: number[] = [];
      let wins = 0;
      let ties = 0;
      for (let s = 1; s <= seeds; s++) {
        const o = runOrchestra(fn, budget, s * 7919, tuning);
        const r = runRandom(fn, budget, s * 7919);
        orchestra.push(o);
        random.push(r);
        if (o < r) wins++;
        else if (o === r) ties++;
      }
      orchestra.sort((a, b) => a - b);
      random.sort((a, b) => a - b);
      const ratio = quantile(random, 0.5) / Math.max(quantile(orchestra, 0.5), 1e-12);
      rows.push([
        fn.name,
        String(budget),
        String(populationFor(budget)),
        range(orchestra),
        range(random),
        quantile(random, 0.5) === 0 ? '–' : `${ratio.toFixed(ratio >= 10 ? 0 : 1)}×`,
        `${wins}/${seeds}` + (ties ? ` (${ties} tied)` : ''),
      ]);
    }
  }
  printTable(
    `Evolution quality: regret, median (IQR), over ${seeds} seeds${Object.keys(tuning).length ? `, tuning ${JSON.stringify(tuning)}` : ''}`,
    ['function', 'budget', 'population', 'orchestra', 'random search', 'median ratio', 'orchestra better (same seed)'],
    rows,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
