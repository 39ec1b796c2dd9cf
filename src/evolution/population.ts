import type { Rng } from '../protocol/index.js';
import { keyOf, type Combination } from './combination.js';
import { cardinality, decode, dimsOf } from './encoding.js';
import { shuffle } from './random.js';
import type { Space } from './space.js';

/** The VariableAgent's default generation size (DESIGN: "50 by default"). */
export const DEFAULT_POPULATION = 50;

/** Discrete spaces up to this size may be listed outright once sampling stops finding new points. */
const ENUMERATION_LIMIT = 200_000;

/**
 * A Latin hypercube of n points: each coordinate's n strata hold one point each, in a
 * random order per dimension, jittered within the stratum. Mapped through each
 * variable's bins this balances categoricals and bools (each choice ⌊n/k⌋ or ⌈n/k⌉
 * times) and puts n/10 points in every decile of every float.
 */
export function latinHypercube(rng: Rng, n: number, d: number): number[][] {
  const points = Array.from({ length: n }, () => new Array<number>(d).fill(0));
  for (let j = 0; j < d; j++) {
    const order = shuffle(rng, Array.from({ length: n }, (_, i) => i));
    for (let i = 0; i < n; i++) points[i]![j] = (order[i]! + rng.next()) / n;
  }
  return points;
}

function minDistance(points: readonly number[][]): number {
  let best = Infinity;
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      let s = 0;
      const a = points[i]!;
      const b = points[j]!;
      for (let k = 0; k < a.length; k++) s += (a[k]! - b[k]!) ** 2;
      if (s < best) best = s;
    }
  }
  return best;
}

/**
 * Of a few Latin hypercubes, the one whose closest two points are farthest apart
 * (maximin): a cheap guard against the unlucky draws that leave a corner empty.
 */
function maximinHypercube(rng: Rng, n: number, d: number, tries = 8): number[][] {
  let best = latinHypercube(rng, n, d);
  if (n > 400) return best; // the O(n²) comparison stops paying for itself
  let bestScore = minDistance(best);
  for (let t = 1; t < tries; t++) {
    const candidate = latinHypercube(rng, n, d);
    const score = minDistance(candidate);
    if (score > bestScore) [best, bestScore] = [candidate, score];
  }
  return best;
}

/** Every combination of a finite discrete space, in canonical order (callers shuffle). */
export function enumerate(space: Space): Combination[] {
  const dims = dimsOf(space);
  const out: Combination[] = [];
  const index = new Array<number>(dims.length).fill(0);
  for (;;) {
    out.push(decode(space, index.map((i, j) => (i + 0.5) / dims[j]!.levels)));
    let j = dims.length - 1;
    while (j >= 0 && ++index[j]! >= dims[j]!.levels) index[j--] = 0;
    if (j < 0) return out;
  }
}

/**
 * Fills `into` with up to `size` new combinations (keys not in `taken`) from `source`,
 * then uniform draws, then, for a small discrete space, the whole list of what is left.
 * Returns fewer than asked when the space has no more untested combinations (or, in
 * a discrete space too large to list, when 20 draws per missing combination found
 * nothing new: a space all but exhausted). Adds what it returns to `taken`.
 */
export function fillFresh(
  space: Space,
  into: Combination[],
  size: number,
  taken: Set<string>,
  rng: Rng,
  source: readonly Combination[] = [],
): Combination[] {
  const add = (c: Combination) => {
    if (into.length >= size) return;
    const key = keyOf(space, c);
    if (taken.has(key)) return;
    taken.add(key);
    into.push(c);
  };
  for (const c of source) add(c);
  const d = dimsOf(space).length;
  for (let attempt = 0; attempt < 20 * size && into.length < size; attempt++) {
    add(decode(space, Array.from({ length: d }, () => rng.next())));
  }
  if (into.length < size && cardinality(space) <= ENUMERATION_LIMIT) {
    for (const c of shuffle(rng, enumerate(space))) add(c);
  }
  return into;
}

/**
 * The first generation: spread over the whole space (a maximin Latin hypercube in
 * the unit cube mapped through each variable's scale), every combination valid, no
 * duplicates, none in `exclude`. A space with fewer untested combinations than
 * `size` yields what exists.
 */
export function initialPopulation(space: Space, size: number, rng: Rng, exclude?: ReadonlySet<string>): Combination[] {
  const n = Math.max(0, Math.floor(size));
  if (n === 0) return [];
  const taken = new Set(exclude ?? []);
  const design = maximinHypercube(rng, n, dimsOf(space).length).map((u) => decode(space, u));
  // Duplicates happen only in discrete dimensions; their replacements are uniform draws.
  return fillFresh(space, [], n, taken, rng, design);
}
