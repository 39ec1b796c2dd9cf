/** Days in ms, for the default window. */
const DAY_MS = 24 * 60 * 60 * 1000;

export interface DriftOptions {
  /** The recent window, ending at `now`. Default 7 days (DESIGN). */
  windowMs: number;
  /** Relative fall of recent below baseline that counts as a change. Default 0.2. */
  threshold: number;
  /**
   * How many standard errors the fall must exceed besides the threshold: a
   * one-sided test of recent against baseline. Default 2 (about a 2 % chance of
   * calling pure noise a change, for normal noise).
   */
  sigmas: number;
  now: number;
}

/** After an environment change, the next generations explore harder (the search proposes further from the old elite): this many. */
export const EXPLORE_GENERATIONS_AFTER_CHANGE = 2;

export const DEFAULT_DRIFT_OPTIONS: Readonly<Omit<DriftOptions, 'now'>> = Object.freeze({ windowMs: 7 * DAY_MS, threshold: 0.2, sigmas: 2 });

/** One score at a time (`at`: ms, a generation, a trial: any clock); `key` names the combination it is a result of. */
export interface DriftPoint {
  at: number;
  score: number;
  key?: string;
}

export interface DriftReport {
  changed: boolean;
  /** Mean score before the window (for `detectEliteDrift`, what the elite is expected to score); null when there is none. */
  baseline: number | null;
  /** Mean score within the window; null when there is none. */
  recent: number | null;
  /** (baseline − recent) / baseline; null when either side is missing or baseline ≤ 0. */
  drop: number | null;
  /** Standard deviation of one score around its combination's mean (repeated results); null when unknown. */
  noise: number | null;
  /** The fall (baseline − recent, in score units) that noise alone explains: `sigmas` standard errors; 0 without noise. */
  explained: number;
}

/**
 * Floating-point slack for "exactly at the threshold": 0.5 → 0.4 computes as a drop
 * of 0.19999999999999996 and 10 → 8 as exactly 0.2; both must read as 20 %.
 */
const EPSILON = 1e-9;

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Splits a series at the window: before (at < now − windowMs) and within (now − windowMs ≤ at ≤ now); later points and non-finite scores are dropped. */
function split<P extends DriftPoint>(series: readonly P[], now: number, windowMs: number): { before: P[]; within: P[] } {
  const start = now - windowMs;
  const before: P[] = [];
  const within: P[] = [];
  for (const p of series) {
    if (!Number.isFinite(p.score) || p.at > now) continue;
    (p.at < start ? before : within).push(p);
  }
  return { before, within };
}

/**
 * The pooled standard deviation of repeated scores of one key (each key's
 * squared deviations from its own mean, over the degrees of freedom left):
 * how far one result of a combination strays from what that combination
 * really does. Null when no key has two scores.
 */
export function repeatNoise(points: readonly DriftPoint[]): { sd: number; dof: number } | null {
  const byKey = new Map<string, number[]>();
  for (const p of points) if (p.key !== undefined && Number.isFinite(p.score)) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.score]);
  let ss = 0;
  let dof = 0;
  for (const xs of byKey.values()) {
    if (xs.length < 2) continue;
    // Deviations from the first result, so that repeats of one value spread by exactly 0.
    const ds = xs.map((x) => x - xs[0]!);
    const m = mean(ds);
    for (const d of ds) ss += (d - m) ** 2;
    dof += xs.length - 1;
  }
  return dof > 0 ? { sd: Math.sqrt(ss / dof), dof } : null;
}

/**
 * The critical value of Student's t with `dof` degrees of freedom at the
 * one-sided level where the normal's is `z` (Cornish–Fisher expansion, within
 * 2 % of the exact value from 3 degrees of freedom on): a noise estimated from
 * few repeats is itself uncertain, so the fall must be larger.
 */
export function studentCritical(z: number, dof: number): number {
  if (!Number.isFinite(dof)) return z;
  const v = Math.max(1, dof);
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v ** 3);
}

/** P(Z > z) for a standard normal Z (Abramowitz and Stegun 7.1.26, within 1e-7). */
export function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** P(X ≥ k) for X binomial with n trials of probability p. */
export function binomialTail(n: number, k: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  let below = 0;
  let term = (1 - p) ** n; // P(X = 0)
  for (let i = 0; i < k; i++) {
    below += term;
    term = p < 1 ? (term * (n - i) * p) / ((i + 1) * (1 - p)) : 0;
  }
  return Math.max(0, 1 - below);
}

/**
 * The decision both detectors share: a change when recent is MORE than
 * `threshold` below baseline (drop > threshold; exactly at the threshold is
 * not a change) AND the fall exceeds what the noise explains (`sigmas`
 * standard errors). A baseline ≤ 0 makes a relative drop meaningless: no change.
 */
function decide(baseline: number | null, recent: number | null, se: number, noise: number | null, threshold: number, sigmas: number): DriftReport {
  const explained = sigmas * se;
  if (baseline === null || recent === null || baseline <= 0) return { changed: false, baseline, recent, drop: null, noise, explained };
  const drop = (baseline - recent) / baseline;
  const changed = drop > threshold + EPSILON && baseline - recent > explained + EPSILON;
  return { changed, baseline, recent, drop, noise, explained };
}

/**
 * Whether the scores of a series fell: `recent` is the mean of the points with
 * now − windowMs ≤ at ≤ now (the window includes both ends), `baseline` the
 * mean of all points before the window (at < now − windowMs). Points after
 * `now` are ignored. Scores are "higher is better" and positive (such as
 * `scoreCombinations` scores).
 *
 * Changed when the fall is both larger than the threshold (more than 20 %
 * below baseline by default; exactly 20 % is not a change) and larger than the
 * noise explains: baseline − recent > sigmas · noise · √(1/n_baseline + 1/n_recent).
 * `noise` (the spread of one score) is the caller's, or else the spread of the
 * repeated scores of one `key` before the window; when neither is known, the
 * threshold alone decides. Callers that acted on a change pass only the series
 * since it, so the old landscape stops being the baseline.
 */
export function detectDrift(series: readonly DriftPoint[], options: Partial<DriftOptions> & { now: number; noise?: number }): DriftReport {
  const windowMs = options.windowMs ?? DEFAULT_DRIFT_OPTIONS.windowMs;
  const threshold = options.threshold ?? DEFAULT_DRIFT_OPTIONS.threshold;
  const sigmas = options.sigmas ?? DEFAULT_DRIFT_OPTIONS.sigmas;
  const { before, within } = split(series, options.now, windowMs);
  const baseline = before.length ? mean(before.map((p) => p.score)) : null;
  const recent = within.length ? mean(within.map((p) => p.score)) : null;
  const noise = options.noise ?? repeatNoise(before)?.sd ?? null;
  const se = noise && before.length && within.length ? noise * Math.sqrt(1 / before.length + 1 / within.length) : 0;
  return decide(baseline, recent, se, noise, threshold, sigmas);
}

export interface EliteDriftReport extends DriftReport {
  /** The baseline's elite: the keys whose results are judged. */
  elite: string[];
  /**
   * On a change, where it most likely began: the `trial` (else `at`) of the
   * elite's first result within the window that fell more than the threshold
   * below its combination's level. Null without a change.
   */
  since: number | null;
}

/**
 * A result of one combination; `failed` marks a test that gave no value (its
 * score is the worst, such as 0); `trial` orders the results finer than `at`
 * and is what `since` reports.
 */
export interface EliteDriftPoint extends DriftPoint {
  key: string;
  failed?: boolean;
  trial?: number;
}

/**
 * Whether the best combinations from before the window do worse within it.
 * `points` are every combination's results (keyed, higher is better), not
 * only the elite's:
 *
 * - the noise of one result has two parts: the spread of repeated successful
 *   results of one combination before the window, and failures at the rate
 *   they hit every result before the window (a failure scores the worst, so
 *   random failures make a combination's results stray by √(f(1 − f)) of its
 *   level). With no combination that succeeded twice before the window there
 *   is no telling noise from change, and nothing is called a change. A
 *   combination was tested again because its first result looked good; that
 *   result strays from the later ones by luck as well as noise, so where the
 *   later results alone give two degrees of freedom or more, the spread is
 *   theirs. Failures within the window that the failure rate from before it
 *   makes plausible (binomial, at the test's level) are left out, and the
 *   successes are judged on their spread alone;
 * - each combination's level before the window is its mean shrunk toward the
 *   mean of all results by the share of their spread that is real (the
 *   between-combination variance over itself plus noise² / tests). The elite
 *   were picked for their results, and noise lifted some of them: unshrunk,
 *   their later results fall back toward the mean although nothing changed
 *   (the winner's curse). On a landscape without noise nothing is shrunk;
 * - the elite are the `eliteSize` best by that level (at least one and a tenth
 *   of the combinations before the window);
 * - `baseline` is what the elite's results within the window are expected to
 *   score, each at its combination's level; `recent` is their mean. A change
 *   is a fall of more than `threshold` of the baseline that is also more than
 *   `sigmas` standard errors (the noise of the recent results plus the
 *   uncertainty of the levels), read as Student's t on the degrees of freedom
 *   of the repeats;
 * - a study checks its landscape again every generation, so what decides
 *   whether failures are plausible is spent over its checks: with `looks`
 *   (this is the k-th check of the landscape since it last changed) the
 *   failures must be less likely than normalTail(sigmas) / k to count. The
 *   binomial tail is exact, so at a fixed level its errors add up check after
 *   check: where one test in ten fails at random, the two retests a window of
 *   `orchestra optimize` holds both fail one time in a hundred, and 2 of 20
 *   studies of 400 evaluations (17 checks) on the noisy bench landscape
 *   called that a change (bench/drift-false-alarms.ts). Spent as 1/k,
 *   the chance over a whole study stays below normalTail(sigmas) · (1 + 1/2
 *   + … + 1/K). The fall of the successes keeps its level at every check: its
 *   standard error (shrunk levels, Student's t) leaves room already, and a
 *   stricter one would miss real changes in small windows. The price: where
 *   tests fail often at random, a late change that shows only as failures
 *   needs more failing results in the window to be seen.
 *
 * Pure and deterministic: the same points give the same verdict.
 */
export function detectEliteDrift(points: readonly EliteDriftPoint[], options: Partial<DriftOptions> & { now: number; eliteSize?: number; looks?: number }): EliteDriftReport {
  const windowMs = options.windowMs ?? DEFAULT_DRIFT_OPTIONS.windowMs;
  const threshold = options.threshold ?? DEFAULT_DRIFT_OPTIONS.threshold;
  const sigmas = options.sigmas ?? DEFAULT_DRIFT_OPTIONS.sigmas;
  const looks = Math.max(1, Math.floor(options.looks ?? 1));
  const { before, within } = split(points, options.now, windowMs);
  const none = (noise: number | null, elite: string[] = []): EliteDriftReport => ({ changed: false, baseline: null, recent: null, drop: null, noise, explained: 0, elite, since: null });
  if (before.length === 0) return none(null);
  const order = (p: EliteDriftPoint) => p.trial ?? p.at;
  const successes = before.filter((p) => !p.failed);
  const seen = new Set<string>();
  const later = [...successes].sort((a, b) => order(a) - order(b)).filter((p) => seen.has(p.key) || !seen.add(p.key));
  const laterFit = repeatNoise(later);
  const spread = laterFit && laterFit.dof >= 2 ? laterFit : repeatNoise(successes);
  if (!spread) return none(null);
  const failedShare = (before.length - successes.length) / before.length;
  /** Variance of one result of a combination whose successful results average `level`. */
  const noiseVar = (level: number) => (1 - failedShare) * spread.sd ** 2 + failedShare * (1 - failedShare) * level ** 2;

  const byKey = new Map<string, number[]>();
  for (const p of before) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.score]);
  const all = before.map((p) => p.score);
  const grand = mean(all);
  const totalVar = all.reduce((acc, x) => acc + (x - grand) ** 2, 0) / Math.max(1, all.length - 1);
  const typicalNoise = noiseVar(grand);
  const betweenVar = Math.max(0, totalVar - typicalNoise);
  const levels = [...byKey.entries()].map(([key, xs]) => {
    const n = xs.length;
    const m = mean(xs);
    if (typicalNoise === 0) return { key, raw: m, level: m, variance: 0 };
    const weight = betweenVar / (betweenVar + typicalNoise / n);
    return { key, raw: m, level: grand + weight * (m - grand), variance: (weight * typicalNoise) / n };
  });
  // Ties (all shrunk to the mean when the noise explains every difference) go to the better raw mean.
  levels.sort((a, b) => b.level - a.level || b.raw - a.raw || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const elite = levels.slice(0, Math.max(1, Math.floor(levels.length / 10), options.eliteSize ?? 0));
  const byElite = new Map(elite.map((e) => [e.key, e]));

  const eliteResults = within.filter((p) => byElite.has(p.key));
  const eliteKeys = elite.map((e) => e.key);
  const recentFailures = eliteResults.filter((p) => p.failed).length;
  // Failures come one at a time and are rare: a normal test reads a single one as a fall
  // of three standard errors. When the failure rate from before the window makes at least
  // this many failures plausible (at the level spent on this check), they are left out and
  // the successes are judged alone.
  const failuresExplained = recentFailures > 0 && binomialTail(eliteResults.length, recentFailures, failedShare) >= normalTail(sigmas) / looks;
  const recentScores = failuresExplained ? eliteResults.filter((p) => !p.failed) : eliteResults;
  if (recentScores.length === 0) return none(Math.sqrt(typicalNoise), eliteKeys);
  const n = recentScores.length;
  const counts = new Map<string, number>();
  for (const p of recentScores) counts.set(p.key, (counts.get(p.key) ?? 0) + 1);
  let baseline = 0;
  let levelVar = 0;
  for (const [key, c] of counts) {
    const e = byElite.get(key)!;
    baseline += (c / n) * e.level;
    levelVar += (c / n) ** 2 * e.variance;
  }
  const recent = mean(recentScores.map((p) => p.score));
  const noise = failuresExplained ? spread.sd : Math.sqrt(noiseVar(baseline));
  const se = Math.sqrt(noise ** 2 / n + levelVar);
  const report = decide(baseline, recent, se, noise, threshold, studentCritical(sigmas, spread.dof));
  if (!report.changed) return { ...report, elite: eliteKeys, since: null };
  const inOrder = [...recentScores].sort((a, b) => order(a) - order(b));
  const fallen = inOrder.find((p) => p.score < (1 - threshold) * byElite.get(p.key)!.level) ?? inOrder[0]!;
  return { ...report, elite: eliteKeys, since: order(fallen) };
}
