import type { Rng } from '../protocol/index.js';
import { choiceIndex, type Dim } from './encoding.js';
import { gaussian, randInt, reflect01 } from './random.js';

/**
 * The genetic operators, on unit-cube genomes (see encoding.ts). They never see a
 * variable's raw scale: a float on a log scale is mutated in log space because its
 * coordinate already is. Every coordinate they return is in [0, 1], so decoding
 * always yields a combination within types and bounds.
 */

/** Tournament selection: the fitter (higher) of `size` uniform picks; pressure without sorting. */
export function tournament(rng: Rng, fitness: readonly number[], size = 2): number {
  let best = randInt(rng, fitness.length);
  for (let i = 1; i < size; i++) {
    const other = randInt(rng, fitness.length);
    if (fitness[other]! > fitness[best]!) best = other;
  }
  return best;
}

/**
 * Simulated binary crossover (Deb & Agrawal) bounded to [0, 1]: a child near one
 * parent, spreading in proportion to the parents' distance, so the step shrinks as
 * the population converges. `eta` is its distribution index (larger: nearer the parents).
 */
export function sbx(rng: Rng, a: number, b: number, eta: number): number {
  if (Math.abs(a - b) < 1e-12) return a;
  const y1 = Math.min(a, b);
  const y2 = Math.max(a, b);
  const r = rng.next();
  const spreadFrom = (beta: number) => {
    const alpha = 2 - beta ** -(eta + 1);
    return r <= 1 / alpha ? (r * alpha) ** (1 / (eta + 1)) : (1 / (2 - r * alpha)) ** (1 / (eta + 1));
  };
  const c1 = 0.5 * (y1 + y2 - spreadFrom(1 + (2 * y1) / (y2 - y1)) * (y2 - y1));
  const c2 = 0.5 * (y1 + y2 + spreadFrom(1 + (2 * (1 - y2)) / (y2 - y1)) * (y2 - y1));
  const child = rng.next() < 0.5 ? c1 : c2;
  return child < 0 ? 0 : child > 1 ? 1 : child;
}

export interface CrossoverOptions {
  /** SBX distribution index. */
  eta: number;
}

/**
 * One child of two parents. Ordered dimensions (float, int): an SBX blend with
 * probability ½, else one parent's coordinate. Categoricals and bools (choices have
 * no "between"): half the time uniform crossover, each from either parent; half
 * the time two-point crossover over the canonical (sorted-name) order, which keeps
 * runs of neighbouring variables together: related settings often share a prefix
 * (`cache_size`, `cache_ttl`) and good combinations of them survive recombination.
 */
export function crossover(rng: Rng, dims: readonly Dim[], a: readonly number[], b: readonly number[], options: CrossoverOptions): number[] {
  const n = dims.length;
  const twoPoint = rng.next() < 0.5;
  let from = randInt(rng, n + 1);
  let to = randInt(rng, n + 1);
  if (from > to) [from, to] = [to, from];
  return dims.map((d, i) => {
    const x = a[i]!;
    const y = b[i]!;
    if (d.kind === 'categorical') return twoPoint ? (i >= from && i < to ? y : x) : rng.next() < 0.5 ? x : y;
    if (rng.next() < 0.5) return sbx(rng, x, y, options.eta);
    return rng.next() < 0.5 ? x : y;
  });
}

export interface MutationOptions {
  /** Per-dimension probability of a mutation. */
  rate: number;
  /** Per-dimension Gaussian step in unit-cube coordinates (adapted by the caller). */
  sigma: readonly number[];
}

/**
 * Gaussian mutation for ordered dimensions (reflected at the bounds) and
 * resampling to a different choice for categoricals and bools. An integer whose
 * step was too small to leave its bin moves to a neighbouring integer instead,
 * so a mutation of an int always changes it. At least one dimension mutates.
 */
export function mutate(rng: Rng, dims: readonly Dim[], u: readonly number[], options: MutationOptions): number[] {
  const out = [...u];
  const movable = dims.map((d) => d.levels > 1);
  const anyMovable = movable.some(Boolean);
  let changed = false;
  const apply = (i: number) => {
    const d = dims[i]!;
    const x = out[i]!;
    if (d.kind === 'categorical') {
      const k = d.levels;
      const current = choiceIndex(x, k);
      const next = (current + 1 + randInt(rng, k - 1)) % k;
      out[i] = (next + 0.5) / k;
    } else {
      let y = reflect01(x + options.sigma[i]! * gaussian(rng));
      if (d.kind === 'integer') {
        // Bins of a log-scaled int are unequal, so compare decoded values, not coordinates.
        const from = d.fromUnit(x) as number;
        if (d.fromUnit(y) === from) {
          const lowest = d.fromUnit(0) as number;
          const highest = d.fromUnit(1) as number;
          const step = from === lowest ? 1 : from === highest ? -1 : rng.next() < 0.5 ? -1 : 1;
          y = d.toUnit(from + step);
        }
      }
      out[i] = y;
    }
    changed = true;
  };
  dims.forEach((_, i) => {
    if (movable[i] && rng.next() < options.rate) apply(i);
  });
  if (!changed && anyMovable) {
    let i = randInt(rng, dims.length);
    while (!movable[i]) i = (i + 1) % dims.length;
    apply(i);
  }
  return out;
}
