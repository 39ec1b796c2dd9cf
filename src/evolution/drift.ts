/** Days in ms, for the default window. */
const DAY_MS = 24 * 60 * 60 * 1000;

export interface DriftOptions {
  /** The recent window, ending at `now`. Default 7 days (DESIGN). */
  windowMs: number;
  /** Relative fall of recent below baseline that counts as a change. Default 0.2. */
  threshold: number;
  now: number;
}

export const DEFAULT_DRIFT_OPTIONS: Readonly<Omit<DriftOptions, 'now'>> = Object.freeze({ windowMs: 7 * DAY_MS, threshold: 0.2 });

export interface DriftReport {
  changed: boolean;
  /** Mean score before the window; null when there is none. */
  baseline: number | null;
  /** Mean score within the window; null when there is none. */
  recent: number | null;
  /** (baseline − recent) / baseline; null when either side is missing or baseline ≤ 0. */
  drop: number | null;
}

/**
 * Floating-point slack for "exactly at the threshold": 0.5 → 0.4 computes as a drop
 * of 0.19999999999999996 and 10 → 8 as exactly 0.2; both must read as 20 %.
 */
const EPSILON = 1e-9;

/**
 * Whether the elite's scores fell: `recent` is the mean of the points with
 * now − windowMs ≤ at ≤ now (the window includes both ends), `baseline` the mean of
 * all points before the window (at < now − windowMs). Points after `now` are
 * ignored. Changed when recent is MORE than `threshold` below baseline, i.e.
 * drop > threshold; exactly at the threshold is not a change. Scores are
 * "higher is better" and positive (such as `scoreCombinations` scores); with a
 * baseline ≤ 0 a relative drop means nothing and nothing is reported as changed.
 * Callers that acted on a change pass only the series since it, so the old
 * landscape stops being the baseline.
 */
export function detectDrift(
  series: readonly { at: number; score: number }[],
  options: Partial<DriftOptions> & { now: number },
): DriftReport {
  const windowMs = options.windowMs ?? DEFAULT_DRIFT_OPTIONS.windowMs;
  const threshold = options.threshold ?? DEFAULT_DRIFT_OPTIONS.threshold;
  const start = options.now - windowMs;
  let before = 0;
  let nBefore = 0;
  let within = 0;
  let nWithin = 0;
  for (const p of series) {
    if (!Number.isFinite(p.score) || p.at > options.now) continue;
    if (p.at < start) {
      before += p.score;
      nBefore++;
    } else {
      within += p.score;
      nWithin++;
    }
  }
  const baseline = nBefore ? before / nBefore : null;
  const recent = nWithin ? within / nWithin : null;
  if (baseline === null || recent === null || baseline <= 0) return { changed: false, baseline, recent, drop: null };
  const drop = (baseline - recent) / baseline;
  return { changed: drop > threshold + EPSILON, baseline, recent, drop };
}
