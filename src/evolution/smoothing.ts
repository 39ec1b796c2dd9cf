import { distance } from './surrogate.js';

/**
 * Smoothing of noisy means by a Gaussian process: each combination's mean is
 * an observation of the landscape with variance σ²/tests; the estimate at each
 * point is the posterior mean of a process with a constant mean and a squared-
 * exponential covariance τ²·exp(−d²/2ℓ²), whose ℓ and τ² are the pair of a
 * small grid that best explains the means (largest marginal likelihood).
 *
 * Unlike a ridge on an interpolating surrogate, the covariance is positive
 * definite, so evidence only ever pulls an estimate toward what its neighbours
 * show: a mean confirmed by many tests stays put, a mean from one lucky test
 * next to poor neighbours is pulled toward them, and two far-apart means keep
 * their order.
 */

/** Length scales tried, as fractions of the median distance between the points. */
const LENGTH_FACTORS = [0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5];
/** Signal variances tried, as multiples of the means' variance beyond the noise. */
const SIGNAL_FACTORS = [0.25, 1, 4];

/** The lower-triangular L with L Lᵀ = A (A is left as it is); null when A is not positive definite. */
export function cholesky(a: readonly (readonly number[])[]): number[][] | null {
  const n = a.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const li = l[i]!;
    for (let j = 0; j <= i; j++) {
      const lj = l[j]!;
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= li[k]! * lj[k]!;
      if (i === j) {
        if (!(s > 0)) return null;
        li[i] = Math.sqrt(s);
      } else li[j] = s / lj[j]!;
    }
  }
  return l;
}

/** Solves L Lᵀ x = b for the Cholesky factor L. */
function cholSolve(l: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const z = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * z[k]!;
    z[i] = s / l[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}

/**
 * Posterior means of `ys` (observed at feature vectors `xs`, each with its own
 * noise variance `noise[i]`). With fewer than three points, or when no variance
 * is left beyond the noise, there is nothing to learn from neighbours and the
 * values come back as they are.
 */
export function smoothMeans(xs: readonly (readonly number[])[], ys: readonly number[], noise: readonly number[]): number[] {
  const n = ys.length;
  if (n < 3) return [...ys];
  const mean = ys.reduce((a, b) => a + b, 0) / n;
  const centred = ys.map((y) => y - mean);
  const spread = centred.reduce((a, c) => a + c * c, 0) / (n - 1);
  const noiseMean = noise.reduce((a, b) => a + b, 0) / n;
  const signal = Math.max(spread - noiseMean, spread / 10);
  if (!(signal > 0)) return [...ys];
  const d2 = xs.map((a) => xs.map((b) => distance(a, b) ** 2));
  const pairs = d2.flatMap((row, i) => row.slice(i + 1)).sort((a, b) => a - b);
  const medianDistance = Math.sqrt(pairs[pairs.length >> 1]!);
  if (!(medianDistance > 0)) return [...ys];

  let best: { evidence: number; weights: number[]; k: number[][] } | undefined;
  for (const lf of LENGTH_FACTORS) {
    const twoL2 = 2 * (lf * medianDistance) ** 2;
    for (const sf of SIGNAL_FACTORS) {
      const tau2 = sf * signal;
      const k = d2.map((row) => row.map((d) => tau2 * Math.exp(-d / twoL2)));
      const l = cholesky(k.map((row, i) => row.map((v, j) => (i === j ? v + noise[i]! : v))));
      if (!l) continue;
      const weights = cholSolve(l, centred);
      let logDet = 0;
      for (let i = 0; i < n; i++) logDet += Math.log(l[i]![i]!);
      // log marginal likelihood, constants dropped: −½ yᵀ(K+D)⁻¹y − ½ log|K+D|
      const evidence = -0.5 * centred.reduce((a, c, i) => a + c * weights[i]!, 0) - logDet;
      if (!best || evidence > best.evidence) best = { evidence, weights, k };
    }
  }
  if (!best) return [...ys];
  const { weights, k } = best;
  return k.map((row) => mean + row.reduce((a, v, j) => a + v * weights[j]!, 0));
}
