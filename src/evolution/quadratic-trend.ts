import type { Dim } from './encoding.js';
import { solve } from './surrogate.js';

/**
 * The minimum of the landscape's trend: a separable quadratic
 *
 *   y ≈ c + Σⱼ aⱼ·uⱼ + bⱼ·uⱼ²
 *
 * over the ordered coordinates of `genomes` (unit cube), fitted to `ys` (lower
 * is better) by least squares. On a rugged landscape whose minima lie in a big
 * valley (Rastrigin's grid of minima on a bowl) the interpolating surrogate
 * follows the ripples; the trend sees the valley, and its minimum is where the
 * valley bottoms out. Each coordinate goes to its parabola's vertex within
 * [0, 1] where the parabola opens upwards, and stays at `start`'s value
 * (categorical ones always) where it does not. Null with fewer points than
 * twice the coefficients (the fit would follow the ripples again) or a
 * singular fit.
 */
export function trendMinimum(dims: readonly Dim[], genomes: readonly (readonly number[])[], ys: readonly number[], start: readonly number[]): number[] | null {
  const ordered = dims.flatMap((d, j) => (d.kind !== 'categorical' && d.levels > 1 ? [j] : []));
  const k = 1 + 2 * ordered.length;
  if (ordered.length === 0 || genomes.length < 2 * k) return null;
  const row = (u: readonly number[]) => [1, ...ordered.map((j) => u[j]!), ...ordered.map((j) => u[j]! ** 2)];
  const normal = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const rhs = new Array<number>(k).fill(0);
  genomes.forEach((u, i) => {
    const x = row(u);
    for (let p = 0; p < k; p++) {
      rhs[p]! += x[p]! * ys[i]!;
      for (let q = 0; q < k; q++) normal[p]![q]! += x[p]! * x[q]!;
    }
  });
  // A little ridge on the coefficients (not the constant) keeps the fit defined when a coordinate barely varies.
  for (let p = 1; p < k; p++) normal[p]![p]! += 1e-6 * genomes.length;
  const beta = solve(normal, rhs);
  if (!beta) return null;
  const out = [...start];
  ordered.forEach((j, i) => {
    const a = beta[1 + i]!;
    const b = beta[1 + ordered.length + i]!;
    if (b > 0) out[j] = Math.min(1, Math.max(0, -a / (2 * b)));
  });
  return out;
}
