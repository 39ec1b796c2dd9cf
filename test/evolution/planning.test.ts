import { describe, it, expect } from 'vitest';
import { combinationKey, parseSpace, planGeneration, retestsOf, scoreCombinations, watchableKeys, type GenerationPlanInput, type Observation } from '../../src/evolution/index.js';

const space = parseSpace({
  name: 'plan',
  objective: { metric: 'value', direction: 'minimize' },
  variables: { x: { type: 'float', min: -5, max: 5 }, mode: { type: 'categorical', choices: ['a', 'b'] } },
});

/** A first generation of `n` combinations, each tested once, value (x - 1)². */
function history(n: number, generation = 0, trialFrom = 0): Observation[] {
  return Array.from({ length: n }, (_, i) => {
    const combination = { x: -5 + (10 * i) / Math.max(1, n - 1), mode: i % 2 ? 'a' : 'b' };
    return { key: combinationKey(space, combination), combination, success: true, value: (combination.x - 1) ** 2, generation, trial: trialFrom + i, at: trialFrom + i };
  });
}

const base = (over: Partial<GenerationPlanInput> = {}): GenerationPlanInput => ({
  space,
  generation: 0,
  seed: 1,
  population: 8,
  testsPerCombination: 2,
  retests: 2,
  budgetLeft: Infinity,
  observations: [],
  since: 0,
  explore: false,
  watchable: new Set(),
  ...over,
});

describe('planning a generation', () => {
  it('plans a first generation of new combinations, each tested as often as asked, and no retests', () => {
    const plan = planGeneration(base());
    expect(plan.retestRuns).toBe(0);
    expect(plan.eliteCount).toBe(0);
    expect(plan.runs).toHaveLength(16);
    expect(new Set(plan.runs.map((r) => r.key)).size).toBe(8);
  });

  it('is the same plan for the same seed and generation, and another for another seed', () => {
    const observations = history(8);
    const again = () => planGeneration(base({ generation: 1, observations }));
    expect(again()).toEqual(again());
    expect(planGeneration(base({ generation: 1, observations, seed: 2 })).runs).not.toEqual(again().runs);
  });

  it('fills the population with new combinations never tested, then retests the best last, so they see the environment as late as the generation runs', () => {
    const observations = history(8);
    const plan = planGeneration(base({ generation: 1, observations }));
    expect(plan.retestRuns).toBe(2);
    expect(plan.eliteCount).toBeGreaterThanOrEqual(1);
    const tested = new Set(observations.map((o) => o.key));
    expect(plan.runs.slice(-2).every((r) => tested.has(r.key))).toBe(true);
    expect(plan.runs.slice(0, -2).every((r) => !tested.has(r.key))).toBe(true);
    expect(plan.runs).toHaveLength(2 + (8 - 2) * 2);
  });

  it('opens with the enqueued combinations not yet tested, in their order, once each, before any retest or proposal', () => {
    const given = [{ x: 2, mode: 'a' }, { mode: 'b', x: -1 }, { x: 2, mode: 'a' }, { x: 4, mode: 'b' }];
    const first = planGeneration(base({ enqueued: given, population: 2, testsPerCombination: 1 }));
    expect(first.runs.map((r) => r.variables)).toEqual([{ mode: 'a', x: 2 }, { mode: 'b', x: -1 }]);
    // The one left waits at the head of the next generation: no retests before it, and proposals after.
    const observations = first.runs.map((r, i) => ({ key: r.key, combination: r.variables, success: true, value: 1, generation: 0, trial: i, at: i }));
    const second = planGeneration(base({ enqueued: given, generation: 1, observations, population: 3, testsPerCombination: 1 }));
    expect(second.retestRuns).toBe(0);
    expect(second.runs[0]!.variables).toEqual({ mode: 'b', x: 4 });
    expect(second.runs).toHaveLength(3);
    expect(new Set(second.runs.map((r) => r.key)).size).toBe(3);
    expect(second.runs.slice(1).some((r) => observations.some((o) => o.key === r.key))).toBe(false);
    // Once all were tested, planning is what it is without them.
    const later = [...observations, { key: second.runs[0]!.key, combination: second.runs[0]!.variables, success: true, value: 1, generation: 1, trial: 2, at: 2 }];
    expect(planGeneration(base({ enqueued: given, generation: 2, observations: later }))).toEqual(planGeneration(base({ generation: 2, observations: later })));
    // They count against the budget.
    expect(planGeneration(base({ enqueued: given, budgetLeft: 1, testsPerCombination: 1 })).runs.map((r) => r.variables)).toEqual([{ mode: 'a', x: 2 }]);
  });

  it('never plans more evaluations than the budget leaves', () => {
    const observations = history(8);
    for (const budgetLeft of [0, 1, 2, 3, 5, 9]) {
      expect(planGeneration(base({ generation: 1, observations, budgetLeft })).runs.length).toBeLessThanOrEqual(budgetLeft);
    }
    expect(planGeneration(base({ budgetLeft: 5 })).runs).toHaveLength(4);
  });

  it('after an environment change, scores only the landscape as it is now', () => {
    const before = history(8);
    const after = history(4, 1, 8).map((o) => ({ ...o, value: (o.value ?? 0) + 100 }));
    const plan = planGeneration(base({ generation: 2, observations: [...before, ...after], since: 8, retests: 4 }));
    const now = new Set(after.map((o) => o.key));
    expect(plan.retestRuns).toBeGreaterThan(0);
    expect(plan.runs.slice(-plan.retestRuns).every((r) => now.has(r.key))).toBe(true);
  });
});

describe('retests and the drift window', () => {
  it('fills the retests with the combinations first tested before the drift window', () => {
    const scored = scoreCombinations(space, history(8));
    const outside = new Set([scored.at(-1)!.key]);
    const chosen = retestsOf(scored, scored.length, outside);
    expect(chosen.map((s) => s.key)).toContain(scored.at(-1)!.key);
    expect(retestsOf(scored, 0, outside)).toEqual([]);
  });

  it('draws the window in generations when configured, else in time before now', () => {
    // One combination per generation, first tested at 1 s, 5 s and 9 s.
    const observations = [0, 1, 2].map((g) => {
      const combination = { x: g, mode: 'a' };
      return { key: combinationKey(space, combination), combination, success: true, value: g, generation: g, trial: g, at: 1_000 + 4_000 * g };
    });
    const generations = (keys: Set<string>) => observations.filter((o) => keys.has(o.key)).map((o) => o.generation);
    expect(generations(watchableKeys(observations, 2, { windowGenerations: 2, windowMs: 0 }, 0))).toEqual([0]);
    expect(generations(watchableKeys(observations, 2, { windowGenerations: 1, windowMs: 0 }, 0))).toEqual([0, 1]);
    expect(generations(watchableKeys(observations, 2, { windowMs: 4_000 }, 10_000))).toEqual([0, 1]);
    expect(generations(watchableKeys(observations, 2, { windowMs: 8_000 }, 10_000))).toEqual([0]);
  });
});
