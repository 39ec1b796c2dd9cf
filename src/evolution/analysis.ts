import type { Space } from './space.js';
import { detectEliteDrift, type EliteDriftReport } from './drift.js';

/**
 * The analysis of a study, generation by generation: each combination's score
 * over time and where it is heading, the figures of a generation (best, mean,
 * diversity, convergence), and whether the environment changed under the
 * elite. Pure: the analysis agent reads the store, calls these, and writes.
 */

/** Scores a prediction looks back on: a combination's trend over its last few generations. */
export const TREND_POINTS = 5;

/** One score of one combination, as the store keeps its history. */
export interface ScoreAt {
  key: string;
  generation: number;
  score: number;
}

/** One test result, as the analysis needs it. */
export interface ResultAt {
  key: string;
  generation: number;
  /** When it was measured (ms). */
  at: number;
  trial: number;
  success: boolean;
  value: number | null;
}

export interface Prediction {
  key: string;
  /** The score the trend gives for the next generation. */
  next: number;
  points: number;
}

/** Least-squares slope and intercept through (i, y_i). */
function line(ys: readonly number[]): { slope: number; intercept: number } {
  const n = ys.length;
  if (n < 2) return { slope: 0, intercept: ys[0] ?? 0 };
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i - mx) * (y - my);
    den += (i - mx) ** 2;
  });
  const slope = num / den;
  return { slope, intercept: my - slope * mx };
}

const predictNext = (ys: readonly number[]): number => {
  const recent = ys.slice(-TREND_POINTS);
  const { slope, intercept } = line(recent);
  return intercept + slope * recent.length;
};

function seriesByKey(history: readonly ScoreAt[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (const p of history) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.score]);
  return byKey;
}

export function predictAll(history: readonly ScoreAt[]): Prediction[] {
  return [...seriesByKey(history).entries()]
    .map(([key, ys]) => ({ key, next: predictNext(ys), points: ys.length }))
    .sort((a, b) => b.next - a.next || a.key.localeCompare(b.key));
}

/** Mean absolute error of one-step-ahead predictions over every combination with two or more scores; null before there are any. */
export function predictionError(history: readonly ScoreAt[]): number | null {
  let total = 0;
  let n = 0;
  for (const ys of seriesByKey(history).values()) {
    for (let i = 1; i < ys.length; i++) {
      total += Math.abs(predictNext(ys.slice(0, i)) - ys[i]!);
      n++;
    }
  }
  return n ? total / n : null;
}

/** The figures of generation `generation` from the results of the landscape as it is now and the score history up to it. */
export function generationReport(results: readonly ResultAt[], history: readonly ScoreAt[], generation: number) {
  const here = results.filter((r) => r.generation === generation);
  const upTo = history.filter((p) => p.generation <= generation);
  const scoresNow = upTo.filter((p) => p.generation === generation).map((p) => p.score);
  const bests = new Map<number, number>();
  for (const p of upTo) bests.set(p.generation, Math.max(bests.get(p.generation) ?? -Infinity, p.score));
  const bestByGeneration = [...bests.entries()].sort((a, b) => a[0] - b[0]).map(([, best]) => best);
  return {
    generation,
    best: scoresNow.length ? Math.max(...scoresNow) : null,
    mean: scoresNow.length ? scoresNow.reduce((a, b) => a + b, 0) / scoresNow.length : null,
    // Distinct combinations among the generation's tests: 1 when every test tried something new.
    diversity: here.length ? new Set(here.map((r) => r.key)).size / here.length : null,
    // How much the best score moved over the last three generations: near 0 once the search has settled.
    convergence: bestByGeneration.length >= 2 ? bestByGeneration.at(-1)! - bestByGeneration[Math.max(0, bestByGeneration.length - 4)]! : null,
    successRate: here.length ? here.filter((r) => r.success).length / here.length : null,
    model: `least-squares trend over each combination's last ${TREND_POINTS} scores, one generation ahead`,
    predictionError: predictionError(upTo),
    predictions: predictAll(upTo).slice(0, 20),
  };
}

export interface EnvironmentDriftOptions {
  generation: number;
  eliteSize: number;
  windowMs: number;
  windowGenerations?: number | undefined;
  threshold: number;
  /** The time the window ends at when it is drawn in time. */
  nowMs: number;
  /** Which check of the current landscape this is; default: counted from the results (driftLooks). */
  looks?: number | undefined;
}

/** The drift decision for the landscape as it is now; `changed: false` with empty figures when nothing precedes the window. */
export function environmentDrift(space: Space, results: readonly ResultAt[], options: EnvironmentDriftOptions): EliteDriftReport | NoBaseline {
  const byGenerations = options.windowGenerations !== undefined;
  const windowStart = byGenerations ? options.generation - options.windowGenerations! + 1 : options.nowMs - options.windowMs;
  const position = (r: ResultAt) => (byGenerations ? r.generation : r.at);
  const sign = space.objective.direction === 'minimize' ? -1 : 1;
  // Baseline results as "higher is better", sorted: a test's performance is the share of them it beats.
  const before = results
    .filter((r) => position(r) < windowStart && r.success && r.value !== null)
    .map((r) => sign * r.value!)
    .sort((a, b) => a - b);
  if (before.length === 0) return { changed: false, baseline: null, recent: null, drop: null, noise: null, explained: 0, elite: [], since: null };
  const performance = (r: ResultAt): number => {
    if (!r.success || r.value === null) return 0;
    const v = sign * r.value;
    let lo = 0;
    let hi = before.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before[mid]! <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo / before.length;
  };
  // The elite as the baseline knew it (detectEliteDrift picks the best before the window).
  // Judging whichever combinations are elite now would hide a change, since the
  // combinations that suit the new landscape become the elite.
  const points = results.map((r) => ({ key: r.key, at: position(r), trial: r.trial, score: performance(r), failed: !r.success || r.value === null }));
  return detectEliteDrift(points, {
    now: byGenerations ? options.generation : options.nowMs,
    windowMs: byGenerations ? options.windowGenerations! - 1 : options.windowMs,
    threshold: options.threshold,
    eliteSize: options.eliteSize,
    looks: options.looks ?? driftLooks(results, options),
  });
}

/**
 * Which check of the landscape as it is now this one is (1 for the first):
 * the generations up to this one whose window had results before it. The
 * results are those since the last change, so the count starts again after
 * one. With a window in time a past generation's window is taken to end at
 * its last result.
 */
export function driftLooks(results: readonly ResultAt[], options: Pick<EnvironmentDriftOptions, 'generation' | 'windowMs' | 'windowGenerations'>): number {
  if (results.length === 0) return 1;
  if (options.windowGenerations !== undefined) {
    const first = Math.min(...results.map((r) => r.generation));
    return Math.max(1, options.generation - first - options.windowGenerations + 1);
  }
  const earliest = Math.min(...results.map((r) => r.at));
  const lastAt = new Map<number, number>();
  for (const r of results) if (r.generation < options.generation) lastAt.set(r.generation, Math.max(lastAt.get(r.generation) ?? -Infinity, r.at));
  let earlier = 0;
  for (const at of lastAt.values()) if (earliest < at - options.windowMs) earlier++;
  return earlier + 1;
}

/** What the drift decision says when no result precedes its window: no change, nothing to compare. */
export interface NoBaseline {
  changed: false;
  baseline: null;
  recent: null;
  drop: null;
  noise: null;
  explained: 0;
  elite: [];
  since: null;
}
