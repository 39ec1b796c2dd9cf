import { distance } from './surrogate.js';

/**
 * Picking a generation out of a ranked pool. Taking the `size` best predictions
 * would put the whole batch on one spot, the surrogate's favourite (a batch is
 * evaluated before the surrogate learns from any of it). Instead each slot takes
 * the candidate of least merit
 *
 *   merit = w · predicted + (1 − w) · nearness,
 *
 * both scaled to [0, 1] over the remaining pool, where nearness is closeness to the
 * nearest combination tested or already chosen, and w cycles through the weights
 * (as in Regis & Shoemaker's stochastic RBF): low weights explore gaps, high ones
 * exploit the prediction, and every pick pushes the next ones away from it.
 * Distance-to-chosen is also what keeps diversity in the population: no pile-up,
 * no early collapse onto one region.
 */
export interface PoolEntry<T> {
  item: T;
  /** Feature vector (surrogate.ts). */
  f: readonly number[];
  /** Predicted value, lower is better, already scaled to [0, 1]. */
  predicted: number;
  /** Distance to the nearest tested or chosen point. */
  nearest: number;
}

export class Batch<T> {
  private readonly used = new Set<number>();

  constructor(private readonly pool: PoolEntry<T>[]) {}

  /** Records a point chosen elsewhere (a uniform draw) so later picks keep away from it. */
  avoid(f: readonly number[]): void {
    for (const p of this.pool) p.nearest = Math.min(p.nearest, distance(p.f, f));
  }

  /** Drops the entries `reject` says no to (e.g. keys taken meanwhile), then picks by merit at weight w. */
  pick(w: number, reject: (item: T) => boolean): T | undefined {
    let dMin = Infinity;
    let dMax = 0;
    this.pool.forEach((p, i) => {
      if (this.used.has(i)) return;
      if (reject(p.item)) {
        this.used.add(i);
        return;
      }
      dMin = Math.min(dMin, p.nearest);
      dMax = Math.max(dMax, p.nearest);
    });
    const span = dMax - dMin || 1;
    let pick = -1;
    let pickMerit = Infinity;
    this.pool.forEach((p, i) => {
      if (this.used.has(i)) return;
      const merit = w * p.predicted + (1 - w) * ((dMax - p.nearest) / span);
      if (merit < pickMerit) [pick, pickMerit] = [i, merit];
    });
    if (pick < 0) return undefined;
    this.used.add(pick);
    const chosen = this.pool[pick]!;
    this.avoid(chosen.f);
    return chosen.item;
  }
}

/** Rescales predictions to [0, 1] in place, so w weighs like against like. */
export function normalisePredictions(pool: { predicted: number }[]): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of pool) {
    lo = Math.min(lo, p.predicted);
    hi = Math.max(hi, p.predicted);
  }
  for (const p of pool) p.predicted = (p.predicted - lo) / (hi - lo || 1);
}
