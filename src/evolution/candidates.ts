import type { Rng } from '../protocol/index.js';
import type { Dim } from './encoding.js';
import { sampleParzen, type Parzen } from './model.js';
import { crossover, mutate, tournament } from './operators.js';
import { gaussian, randInt, reflect01 } from './random.js';
import type { SearchTuning } from './tuning.js';

/**
 * Where a generation's candidates come from, before the surrogate ranks them.
 * Each source is good at something the others miss:
 * - local: perturbations of the elite at many scales, so the surrogate can pick
 *   the step that fits the landscape (fine steps near an optimum, coarse ones early);
 * - offspring: the genetic algorithm's children of elite and significant parents,
 *   which recombine good settings found apart (building blocks);
 * - model: draws from the good-density model l, which remembers every good region;
 * - uniform: anywhere, so no region is ruled out by the models' mistakes.
 */
export interface CandidateSources {
  dims: readonly Dim[];
  /** Elite and significant genomes, best first (elitism: the elite are always here, unchanged). */
  parents: readonly number[][];
  /** How many of `parents` are elite. */
  elite: number;
  good: Parzen;
  /** Per-dimension GA mutation step. */
  sigma: readonly number[];
  explore: number;
}

/** Perturbs every coordinate with probability p (at least one), each with the same log-uniform step. */
function perturb(rng: Rng, dims: readonly Dim[], centre: readonly number[], t: SearchTuning, explore: number): number[] {
  const out = [...centre];
  const movable = dims.map((d, j) => (d.levels > 1 ? j : -1)).filter((j) => j >= 0);
  if (movable.length === 0) return out;
  // Small spaces change every coordinate; wide ones a few at a time (as DYCORS does).
  const p = Math.min(1, 4 / movable.length);
  const maxStep = t.maxStep * (1 + 2 * explore);
  const step = t.minStep * (maxStep / t.minStep) ** rng.next();
  let moved = false;
  const move = (j: number) => {
    const d = dims[j]!;
    if (d.kind === 'categorical') {
      const k = d.levels;
      const current = Math.min(k - 1, Math.floor(out[j]! * k));
      out[j] = (((current + 1 + randInt(rng, k - 1)) % k) + 0.5) / k;
    } else {
      out[j] = reflect01(out[j]! + step * gaussian(rng));
    }
    moved = true;
  };
  for (const j of movable) {
    // A categorical flip is a big move; make it rarer than a small numeric step.
    const chance = dims[j]!.kind === 'categorical' ? p / 2 : p;
    if (rng.next() < chance) move(j);
  }
  if (!moved) move(movable[randInt(rng, movable.length)]!);
  return out;
}

export function generateCandidates(rng: Rng, s: CandidateSources, count: number, t: SearchTuning): number[][] {
  const out: number[][] = [];
  const nLocal = s.parents.length ? Math.round(count * t.localShare) : 0;
  const nOffspring = s.parents.length ? Math.round(count * t.offspringShare) : 0;
  const nModel = Math.round(count * t.modelShare);
  const fitness = s.parents.map((_, i) => -i); // parents come best first
  const eliteFitness = fitness.slice(0, Math.max(1, s.elite));
  const rate = Math.min(1, (1 + 2 * s.explore) / s.dims.length);
  for (let i = 0; i < nLocal; i++) out.push(perturb(rng, s.dims, s.parents[tournament(rng, eliteFitness)]!, t, s.explore));
  for (let i = 0; i < nOffspring; i++) {
    const a = s.parents[tournament(rng, fitness)]!;
    const b = s.parents[tournament(rng, fitness)]!;
    out.push(mutate(rng, s.dims, crossover(rng, s.dims, a, b, { eta: t.sbxEta }), { rate, sigma: s.sigma }));
  }
  for (let i = 0; i < nModel; i++) out.push(sampleParzen(s.good, rng));
  while (out.length < count) out.push(s.dims.map(() => rng.next()));
  return out;
}
