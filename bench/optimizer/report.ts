/**
 * The optimizer benchmark's tables and verdicts, from the regrets of every run.
 * Pure: the numbers in, rows and verdict lines out.
 */
import { quantile } from '../evolution-quality.js';
import type { Combination } from '../../src/evolution/index.js';
import type { Method } from './baselines.js';
import { judge } from './landscapes.js';
import type { OrchestraRun } from './orchestra.js';

export type Optimizer = 'orchestra' | Method;
export const OPTIMIZERS: readonly Optimizer[] = ['orchestra', 'random', 'tpe', 'cmaes', 'deap'];
export const TITLES: Record<Optimizer, string> = { orchestra: 'Orchestra', random: 'random', tpe: 'TPE', cmaes: 'CMA-ES', deap: 'DEAP GA' };
/** The columns after the optimizers' own (index.ts prints them in this order). */
export const VERDICT_COLUMNS = ['Orchestra < random', 'Orchestra ≤ TPE', 'best baseline'] as const;

export interface Regret {
  function: string;
  budget: number;
  seed: number;
  optimizer: Optimizer;
  /** Infinity when a run had nothing to recommend. */
  regret: number;
}

export interface Summary {
  n: number;
  median: number;
  q1: number;
  q3: number;
}

export function summarise(regrets: readonly number[]): Summary | null {
  if (regrets.length === 0) return null;
  const sorted = [...regrets].sort((a, b) => a - b);
  return { n: sorted.length, median: quantile(sorted, 0.5), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75) };
}

export const fmtRegret = (x: number) =>
  !Number.isFinite(x) ? '∞' : x === 0 ? '0' : x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(2);

const cell = (s: Summary | null, seeds: number) =>
  s ? `${fmtRegret(s.median)} (${fmtRegret(s.q1)}–${fmtRegret(s.q3)})${s.n < seeds ? ` n=${s.n}` : ''}` : '–';

export interface Verdicts {
  rows: string[][];
  lines: string[];
}

/**
 * One row per landscape and budget: each optimizer's median regret (IQR), then
 * Orchestra against the two targets: median below random search's ("clearly
 * better than random search on every function"), and median no worse than
 * TPE's ("no worse than Optuna TPE on most functions"); last, the baseline with
 * the lowest median and Orchestra's median as a multiple of it, since which
 * baseline is strongest changes from one landscape to the next.
 */
export function compare(regrets: readonly Regret[], keys: readonly { function: string; budget: number }[], seeds: number): Verdicts {
  const rows: string[][] = [];
  let beatRandom = 0;
  let comparedRandom = 0;
  let matchTpe = 0;
  let comparedTpe = 0;
  let matchBest = 0;
  let comparedBest = 0;
  for (const key of keys) {
    const of = (o: Optimizer) =>
      summarise(regrets.filter((r) => r.function === key.function && r.budget === key.budget && r.optimizer === o).map((r) => r.regret));
    const s = Object.fromEntries(OPTIMIZERS.map((o) => [o, of(o)])) as Record<Optimizer, Summary | null>;
    const orchestra = s.orchestra;
    let vsRandom = '–';
    if (orchestra && s.random) {
      comparedRandom++;
      const tie = orchestra.median === s.random.median;
      if (orchestra.median < s.random.median) beatRandom++;
      vsRandom = orchestra.median < s.random.median ? 'PASS' : tie ? 'MISS (tie)' : 'MISS';
    }
    let vsTpe = '–';
    if (orchestra && s.tpe) {
      comparedTpe++;
      if (orchestra.median <= s.tpe.median) matchTpe++;
      vsTpe = orchestra.median <= s.tpe.median ? 'PASS' : 'MISS';
    }
    const best = bestBaseline(s);
    let vsBest = best ? TITLES[best] : '–';
    if (orchestra && best) {
      comparedBest++;
      if (orchestra.median <= s[best]!.median) matchBest++;
      vsBest = `${TITLES[best]}, Orchestra ${ratio(orchestra.median, s[best]!.median)}`;
    }
    rows.push([key.function, String(key.budget), ...OPTIMIZERS.map((o) => cell(s[o], seeds)), vsRandom, vsTpe, vsBest]);
  }
  const lines: string[] = [];
  lines.push(
    comparedRandom === 0
      ? 'Target "clearly better than random search on every function": not judged (no Orchestra or no random-search runs).'
      : `Target "clearly better than random search on every function" (median regret below random's): ${beatRandom === comparedRandom && comparedRandom === keys.length ? 'PASS' : 'MISS'} — ${beatRandom} of ${comparedRandom} rows.`,
  );
  lines.push(
    comparedTpe === 0
      ? 'Target "median regret no worse than Optuna TPE\'s on most functions": not judged (no Orchestra or no TPE runs).'
      : `Target "median regret no worse than Optuna TPE's on most functions": ${matchTpe * 2 > comparedTpe ? 'PASS' : 'MISS'} — ${matchTpe} of ${comparedTpe} rows.`,
  );
  lines.push(
    comparedBest === 0
      ? 'Orchestra against the best baseline of each row: not judged (no Orchestra or no baseline runs).'
      : `Orchestra against the best baseline of each row (of ${ran(regrets)}): median regret no worse on ${matchBest} of ${comparedBest} rows.`,
  );
  return { rows, lines };
}

/** The baselines that have runs: one missing from the Python (no cmaes or deap module) is no competitor. */
const ran = (regrets: readonly Regret[]) =>
  OPTIMIZERS.filter((o) => o !== 'orchestra' && regrets.some((r) => r.optimizer === o))
    .map((o) => TITLES[o])
    .join(', ');

/** The baseline with the lowest median regret; the first in OPTIMIZERS' order on a tie. */
function bestBaseline(s: Record<Optimizer, Summary | null>): Method | null {
  let best: Method | null = null;
  for (const o of OPTIMIZERS) {
    if (o === 'orchestra') continue;
    const summary = s[o];
    if (summary && (best === null || summary.median < s[best]!.median)) best = o;
  }
  return best;
}

/** Orchestra's median over the best baseline's, as `0.15×`; a zero best baseline regret has no multiple. */
const ratio = (orchestra: number, best: number) =>
  best === 0 ? (orchestra === 0 ? '1×' : `${fmtRegret(orchestra)} vs 0`) : `${fmtRegret(orchestra / best)}×`;

/**
 * What Orchestra's histories say, per landscape and budget: how much of the
 * budget went to repeats and failures, and whether a loss comes from the
 * search (nothing good was ever tested) or from the recommendation (something
 * better was tested, and another was recommended). "Best tested" judges every
 * tested combination noise-free on the final landscape. "No best" counts the
 * runs whose RESULT.json had `best: null` although evaluations succeeded.
 */
export function orchestraDetail(runs: readonly OrchestraRun[], keys: readonly { function: string; budget: number }[]): string[][] {
  const rows: string[][] = [];
  for (const key of keys) {
    const mine = runs.filter((r) => r.function === key.function && r.budget === key.budget);
    if (mine.length === 0) continue;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const distinct = mean(mine.map((r) => new Set(r.result.history.map((h) => JSON.stringify(sorted(h.variables)))).size / Math.max(1, r.result.history.length)));
    const failed = mean(mine.map((r) => r.result.history.filter((h) => !h.success).length / Math.max(1, r.result.history.length)));
    const bestTested = mine.map((r) =>
      Math.min(...r.result.history.map((h) => judge({ name: r.function, budget: r.budget, seed: r.seed }, h.variables as Combination).regret)),
    );
    const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);
    rows.push([
      key.function,
      String(key.budget),
      mean(mine.map((r) => r.result.evaluations)).toFixed(0),
      `${(distinct * 100).toFixed(0)} %`,
      `${(failed * 100).toFixed(0)} %`,
      fmtRegret(median(mine.map((r) => r.regret))),
      fmtRegret(median(bestTested)),
      String(mine.filter((r) => r.bestMissing).length),
      `${median(mine.map((r) => r.seconds)).toFixed(0)} s`,
    ]);
  }
  return rows;
}

const sorted = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)));
