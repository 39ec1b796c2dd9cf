import type { Combination } from './combination.js';
import { dimsOf, encode } from './encoding.js';
import type { Observation } from './observation.js';
import type { Space } from './space.js';
import { binomialTail } from './drift.js';
import { distance, features } from './surrogate.js';

/** A combination's estimated probability of success, with a 95 % interval. */
export interface SuccessEstimate {
  p: number;
  low: number;
  high: number;
  /** How many evaluations the estimate rests on, weighted by nearness (its own tests count whole). */
  evidence: number;
}

/** Kernel widths tried, widest first, as fractions of the median distance between the tested combinations. */
const WIDTH_FACTORS = [1, 0.5, 0.35, 0.2, 0.1, 0.05];
/**
 * Prior weights tried: how many evaluations' worth the overall success rate
 * counts for at every point. Where success does not vary over the space a
 * heavy prior predicts best, and a lone success cannot lift its estimate much.
 */
const PRIOR_WEIGHTS = [25, 10, 5, 2];
/**
 * How much better (log-likelihood) a more local fit (narrower kernel, lighter
 * prior) must predict to be taken over a smoother one: differences smaller
 * than this are what chance clusters of successes give on a uniform space.
 */
const LOCAL_MARGIN = 2;
/** The width is chosen on at most this many observations (the latest), to bound its O(n²) cost. */
const MAX_FIT = 600;
const Z95 = 1.96;

interface Point {
  x: number[];
  success: number;
}

/**
 * The probability that a combination succeeds, estimated from every
 * evaluation near it, not only its own: a kernel-weighted success rate over
 * the encoded space, shrunk toward the overall rate by a Beta prior worth two
 * evaluations. The kernel's width is the one of a small grid that best
 * predicts each evaluation from the others (leave-one-out log-likelihood),
 * which keeps the estimates calibrated: where success varies smoothly over
 * the space a wide kernel wins, where it is the combination's own affair a
 * narrow one does. A combination that succeeded once in a region where most
 * tests fail gets the region's low estimate, with a wide interval.
 */
export class SuccessModel {
  private readonly points: Point[];
  private readonly rate: number;
  private width = 1;
  private prior = PRIOR_WEIGHTS[0]!;

  constructor(
    private readonly space: Space,
    observations: readonly Observation[],
  ) {
    const dims = dimsOf(space);
    this.points = observations.map((o) => ({ x: features(dims, encode(space, o.combination)), success: o.success ? 1 : 0 }));
    const overall = this.points.length ? this.points.reduce((n, p) => n + p.success, 0) / this.points.length : 0.5;
    // Never a certain prior: one failure or one success anywhere must be able to move an estimate.
    this.rate = Math.min(0.98, Math.max(0.02, overall));
    this.fit();
  }

  estimate(combination: Combination): SuccessEstimate {
    const x = features(dimsOf(this.space), encode(this.space, combination));
    let ws = 0;
    let w = 0;
    const k = kernel(this.width);
    for (const p of this.points) {
      const wi = k(distance(x, p.x));
      w += wi;
      ws += wi * p.success;
    }
    return betaEstimate(ws + this.prior * this.rate, w - ws + this.prior * (1 - this.rate), w);
  }

  /** Chooses the kernel width and prior weight that best predict each evaluation from the others. */
  private fit(): void {
    const fit = this.points.slice(-MAX_FIT);
    const n = fit.length;
    const scale = medianDistance(fit);
    this.prior = Math.min(PRIOR_WEIGHTS[0]!, Math.max(2, n / 2));
    if (n < 3 || scale === 0) {
      this.width = scale || 1;
      return;
    }
    const d2: number[][] = fit.map(() => []);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        const d = distance(fit[i]!.x, fit[j]!.x);
        d2[i]![j] = d2[j]![i] = d * d;
      }
    }
    // Per width, each point's kernel weight and weighted successes from the others.
    const sums = WIDTH_FACTORS.map((factor) => {
      const c = -0.5 / (factor * scale) ** 2;
      const w = new Float64Array(n);
      const ws = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const row = d2[i]!;
        let wi = 0;
        let si = 0;
        for (let j = 0; j < n; j++) {
          if (j === i) continue;
          const wj = Math.exp(c * row[j]!);
          wi += wj;
          si += wj * fit[j]!.success;
        }
        w[i] = wi;
        ws[i] = si;
      }
      return { width: factor * scale, w, ws };
    });
    // Of the fits within LOCAL_MARGIN of the best, the smoothest: a more local one must earn its place.
    const fits: { width: number; prior: number; ll: number }[] = [];
    // A prior never outweighs half the evidence it was taken from.
    for (const prior of new Set(PRIOR_WEIGHTS.map((w) => Math.min(w, Math.max(2, n / 2))))) {
      for (const { width, w, ws } of sums) {
        let ll = 0;
        for (let i = 0; i < n; i++) {
          const p = (ws[i]! + prior * this.rate) / (w[i]! + prior);
          ll += Math.log(fit[i]!.success ? p : 1 - p);
        }
        fits.push({ width, prior, ll });
      }
    }
    const best = Math.max(...fits.map((f) => f.ll));
    const chosen = fits.find((f) => f.ll >= best - LOCAL_MARGIN)!;
    this.width = chosen.width;
    this.prior = chosen.prior;
  }
}

/** One-sided tests at 5 %: a combination is refused only on evidence this strong that it fails too often. */
const REFUSE_LEVEL = 0.05;
const Z95_ONE_SIDED = 1.645;

/**
 * Whether a combination may succeed at least as often as `rate`: neither
 * what the evaluations around it say (its estimate, one-sided 95 %) nor its
 * own tests alone (a binomial test at 5 %) put it below the rate. One
 * success where most tests around it fail is refused by the first, two
 * failures in five tests by the second.
 *
 * Held to the point estimate instead, candidates whose true rate is the rate
 * asked for (one test in ten failing at random everywhere, against 0.9)
 * would pass or fail by the noise of their estimates: the first to pass
 * could lie far down the ranking (tested once, its estimate leaning high)
 * while the best, tested often, was refused for an estimate a hair below.
 */
export function mayReach(own: { tests: number; successes: number }, estimate: SuccessEstimate, rate: number): boolean {
  // The interval is ±Z95 standard errors clipped to [0, 1]: its wider side is the unclipped one.
  const se = Math.max(estimate.high - estimate.p, estimate.p - estimate.low) / Z95;
  if (estimate.p + Z95_ONE_SIDED * se < rate) return false;
  // P(this many failures or more | the rate asked for).
  return binomialTail(own.tests, own.tests - own.successes, 1 - rate) >= REFUSE_LEVEL;
}

const kernel = (width: number) => (d: number) => Math.exp((-0.5 * d * d) / (width * width));

/** The mean of Beta(a, b) with a normal-approximation 95 % interval, clipped to [0, 1]. */
function betaEstimate(a: number, b: number, evidence: number): SuccessEstimate {
  const n = a + b;
  const p = a / n;
  const half = Z95 * Math.sqrt((p * (1 - p)) / (n + 1));
  return { p, low: Math.max(0, p - half), high: Math.min(1, p + half), evidence };
}

/** The median distance between pairs of distinct points (of at most 200 of them). */
function medianDistance(points: readonly Point[]): number {
  const step = Math.max(1, Math.floor(points.length / 200));
  const sample = points.filter((_, i) => i % step === 0);
  const ds: number[] = [];
  for (let i = 0; i < sample.length; i++) {
    for (let j = i + 1; j < sample.length; j++) {
      const d = distance(sample[i]!.x, sample[j]!.x);
      if (d > 0) ds.push(d);
    }
  }
  if (ds.length === 0) return 0;
  ds.sort((a, b) => a - b);
  return ds[Math.floor(ds.length / 2)]!;
}
