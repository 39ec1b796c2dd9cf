import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../src/protocol/index.js';
import { combinationKey, initialPopulation, proposeGeneration, recommend, type Combination, type Space } from '../../src/evolution/index.js';
import { sphere } from '../../bench/functions.js';

/** The evolution loop at its simplest: generations of 20 until the budget is spent. */
function optimize(space: Space, f: (c: Combination) => number, budget: number, rng: Rng): Combination {
  const observations: Parameters<typeof recommend>[1][number][] = [];
  for (let generation = 0; observations.length < budget; generation++) {
    const size = Math.min(20, budget - observations.length);
    for (const c of proposeGeneration(space, observations, { size, generation, rng })) {
      observations.push({ key: combinationKey(space, c), combination: c, success: true, value: f(c), generation, trial: observations.length });
    }
  }
  return recommend(space, observations)!.combination;
}

/** Random search: uniform draws over the space (an initial population of one, again and again). */
function randomSearch(space: Space, f: (c: Combination) => number, budget: number, rng: Rng): Combination {
  let best: { c: Combination; v: number } | undefined;
  for (let i = 0; i < budget; i++) {
    const [c] = initialPopulation(space, 1, rng);
    const v = f(c!);
    if (!best || v < best.v) best = { c: c!, v };
  }
  return best!.c;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('search quality', () => {
  it('beats random search on the shifted sphere at budget 200 over 5 seeds (median regret)', () => {
    const fn = sphere();
    const orchestra: number[] = [];
    const random: number[] = [];
    for (const seed of [1, 2, 3, 4, 5]) {
      orchestra.push(fn.exact(optimize(fn.space, fn.exact, 200, createRng(seed))) - fn.optimum);
      random.push(fn.exact(randomSearch(fn.space, fn.exact, 200, createRng(seed))) - fn.optimum);
    }
    expect(median(orchestra)).toBeLessThan(median(random) / 10);
    // Every seed, not just the median.
    for (let i = 0; i < 5; i++) expect(orchestra[i]).toBeLessThan(random[i]!);
  });
});
