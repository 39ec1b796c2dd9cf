import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/protocol/index.js';
import {
  combinationKey,
  parseSpace,
  planGeneration,
  raceReserve,
  raceTests,
  raceWarranted,
  recommend,
  recommendation,
  watchableKeys,
  type Combination,
  type GenerationPlanInput,
  type Observation,
  type Space,
} from '../../src/evolution/index.js';
import { observer, planeSpace } from './helpers.js';

/** A standard normal draw for trial `trial`: the same trial always draws the same noise. */
function noiseAt(seed: number, trial: number): number {
  const rng = createRng((seed * 7919 + trial * 104_729) >>> 0);
  const u = Math.max(1e-12, rng.next());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

const A = { x: 0.1, y: 0.1 };
const B = { x: 0.9, y: 0.9 };
const C = { x: 0.5, y: 0.5 };
const D = { x: 0.1, y: 0.9 };
const E = { x: 0.9, y: 0.1 };
/** The truth of the lucky landscape: B is the best, A worse by 0.3 (less than one test's noise). */
const truth = (c: Combination): number => (c.x === A.x && c.y === A.y ? 1.3 : c.x === B.x && c.y === B.y ? 1 : 2 + Math.abs(Number(c.x) - 0.5) + Math.abs(Number(c.y) - 0.5));

/** B confirmed by four tests, a few others, and A tested once with a lucky draw two standard deviations below its truth. */
function luckyHistory() {
  const space = planeSpace();
  const o = observer(space);
  for (const v of [1.5, 0.5, 1.4, 0.6]) o.add(B, v);
  for (const v of [2.3, 1.7]) o.add(C, v);
  o.add(D, 2.8);
  o.add(E, 3.0);
  o.add(A, 0.3);
  return { space, observations: o.observations };
}

/** Evaluates planned runs on `truth` with noise σ 0.5, each at the next trial. */
function evaluate(space: Space, observations: Observation[], runs: readonly { variables: Combination }[], generation: number): void {
  for (const r of runs) {
    const trial = observations.length;
    observations.push({ key: combinationKey(space, r.variables), combination: r.variables, success: true, value: truth(r.variables) + 0.5 * noiseAt(1, trial), generation, trial });
  }
}

describe('the race reserve', () => {
  it('keeps about an eighth of a budget, at least a few tests, at most a quarter of a small one, and nothing without a budget', () => {
    expect(raceReserve(undefined)).toBe(0);
    expect(raceReserve(Infinity)).toBe(0);
    expect(raceReserve(100)).toBe(12);
    expect(raceReserve(400)).toBe(48);
    expect(raceReserve(20)).toBe(4);
    expect(raceReserve(10)).toBe(2);
    expect(raceReserve(3)).toBe(0);
  });

  it('is warranted by noise or failures, never by a deterministic landscape that always succeeds', () => {
    const space = planeSpace();
    const o = observer(space);
    o.add(A, 1);
    o.add(A, 1);
    o.add(B, 2);
    expect(raceWarranted(space, o.observations)).toBe(false);
    o.add(C, null);
    expect(raceWarranted(space, o.observations)).toBe(true);
    expect(raceWarranted(space, luckyHistory().observations)).toBe(true);
  });
});

describe('racing the top candidates', () => {
  it('re-tests a lucky single test that would be recommended without them, until the truly better one leads', () => {
    const { space, observations } = luckyHistory();
    // Without re-tests, the lucky one is recommended.
    expect(recommend(space, observations)?.combination).toEqual(A);
    const raced = [...observations];
    let left = 12;
    const tested: string[] = [];
    for (let round = 0; left > 0; round++) {
      const tests = raceTests(space, raced, 0, Math.min(4, left), left);
      if (tests.length === 0) break;
      tested.push(...tests.map((t) => t.key));
      evaluate(space, raced, tests.map((t) => ({ variables: t.combination })), 1 + round);
      left -= tests.length;
    }
    // The leader, known from one test only, is re-tested first.
    expect(tested[0]).toBe(combinationKey(space, A));
    expect(tested.length).toBeGreaterThan(0);
    expect(tested.length).toBeLessThanOrEqual(12);
    expect(recommend(space, raced)?.combination).toEqual(B);
  });

  it('re-tests only candidates the recommendation would take: none its own tests show failing too often', () => {
    const space = planeSpace();
    const o = observer(space);
    for (const v of [1.5, 0.5, 1.4, 0.6]) o.add(B, v);
    for (const v of [2.3, 1.7]) o.add(C, v);
    o.add(D, 2.8);
    // F, the best value seen and close enough to B to race it, but three of its six tests failed: below 0.9 by a binomial test.
    const F = { x: 0.3, y: 0.7 };
    for (const v of [0.6, null, 0.4, null, null, 0.5]) o.add(F, v);
    const raced = (rate: number) => raceTests(space, o.observations, 0, 12, 12, rate).map((s) => s.combination);
    expect(raced(0)).toContainEqual(F);
    expect(raced(0.9)).not.toContainEqual(F);
    expect(recommendation({ space, observations: o.observations, exploreFrom: null }, { minSuccessRate: 0.9 })!.best.combination).not.toEqual(F);
  });

  it('gives the same tests for the same evidence', () => {
    const { space, observations } = luckyHistory();
    expect(raceTests(space, observations, 0, 4, 12)).toEqual(raceTests(space, observations, 0, 4, 12));
  });

  it('races nothing when the order is clear: values without noise, or a leader far ahead', () => {
    const space = planeSpace();
    const deterministic = observer(space);
    for (const [c, v] of [[A, 1], [A, 1], [B, 1.1], [C, null], [D, 3]] as const) deterministic.add(c, v);
    expect(raceTests(space, deterministic.observations, 0, 4, 12)).toEqual([]);
    const clear = observer(space);
    for (const v of [1.1, 0.9, 1.0]) clear.add(B, v);
    for (const v of [5.1, 4.9, 5.0]) clear.add(A, v);
    expect(raceTests(space, clear.observations, 0, 4, 12)).toEqual([]);
  });

  it('leaves alone a challenger that not even the whole reserve could tell from the leader', () => {
    const space = planeSpace();
    const o = observer(space);
    for (const v of [1.3, 0.7]) o.add(B, v);
    for (const v of [1.35, 0.75]) o.add(A, v);
    // 0.05 apart under a noise of about 0.4: a handful of tests cannot order them, hundreds could.
    expect(raceTests(space, o.observations, 0, 4, 8)).toEqual([]);
    expect(raceTests(space, o.observations, 0, 4, 10_000).length).toBeGreaterThan(0);
  });

  it('with failures retried, races the cost per success while the chance of success is little known', () => {
    const space = parseSpace({
      name: 'retried',
      objective: { metric: 'cost', direction: 'minimize', failures: 'retry' },
      variables: { x: { type: 'float', min: 0, max: 1 }, y: { type: 'float', min: 0, max: 1 } },
    });
    const o = observer(space);
    o.add(A, 1);
    o.add(B, 1.2);
    o.add(B, null);
    o.add(C, 2);
    o.add(C, 2);
    o.add(D, null);
    // Cost per success about 1.35 against 1.85, each on a chance of success known to ±0.3: a few dozen tests cannot order them, two hundred can.
    expect(raceTests(space, o.observations, 0, 4, 40)).toEqual([]);
    const tests = raceTests(space, o.observations, 0, 4, 200);
    // B, the less known of the two (one success in two tests), goes first.
    expect(tests.length).toBe(4);
    expect(tests[0]!.combination).toEqual(B);
    expect(tests.every((t) => [A, B].some((c) => c.x === t.combination.x && c.y === t.combination.y))).toBe(true);
  });
});

/** A noisy, failing landscape over the plane: the best near (0.3, 0.7), noise σ 1, one test in ten failing. */
const noisyPlane = (c: Combination, trial: number, seed: number): number | null => {
  if (createRng((seed * 31 + trial * 7) >>> 0).next() < 0.1) return null;
  return 10 * ((Number(c.x) - 0.3) ** 2 + (Number(c.y) - 0.7) ** 2) + noiseAt(seed, trial);
};

/** Runs generations of `planGeneration` until the budget is spent; returns every observation and every plan. */
function study(space: Space, f: (c: Combination, trial: number) => number | null, options: { budget: number; seed: number; raced: boolean; retests?: number }) {
  const observations: Observation[] = [];
  const plans: ReturnType<typeof planGeneration>[] = [];
  for (let g = 0; observations.length < options.budget && g < 200; g++) {
    const input: GenerationPlanInput = {
      space,
      generation: g,
      seed: options.seed,
      population: 6,
      testsPerCombination: 1,
      retests: options.retests ?? 1,
      budgetLeft: options.budget - observations.length,
      budget: options.raced ? options.budget : undefined,
      observations,
      since: 0,
      explore: false,
      watchable: watchableKeys(observations, g, { windowGenerations: 2, windowMs: 0 }, 0),
    };
    const plan = planGeneration(input);
    expect(plan.runs.length).toBeGreaterThan(0);
    expect(plan.runs.length).toBeLessThanOrEqual(input.budgetLeft);
    plans.push(plan);
    for (const r of plan.runs) {
      const trial = observations.length;
      const value = f(r.variables, trial);
      observations.push({ key: r.key, combination: r.variables, success: value !== null, value, generation: g, trial });
    }
  }
  return { observations, plans };
}

describe('planning with a race at the end of the budget', () => {
  const space = planeSpace();

  it('spends the budget exactly, the race last, and plans the same study for the same seed', () => {
    let racedAtAll = 0;
    for (const budget of [20, 37, 60]) {
      const run = () => study(space, (c, t) => noisyPlane(c, t, 5), { budget, seed: 5, raced: true });
      const { observations, plans } = run();
      expect(observations).toHaveLength(budget);
      const raced = plans.reduce((n, p) => n + p.raceRuns, 0);
      racedAtAll += raced;
      expect(raced).toBeLessThanOrEqual(raceReserve(budget));
      // A race's runs re-test combinations tested before it, and come only in the reserve.
      let spent = 0;
      for (const p of plans) {
        if (p.raceRuns > 0) {
          expect(budget - spent).toBeLessThanOrEqual(raceReserve(budget));
          expect(p.runs).toHaveLength(p.raceRuns);
          const before = new Set(observations.slice(0, spent).map((o) => o.key));
          expect(p.runs.every((r) => before.has(r.key))).toBe(true);
        }
        spent += p.runs.length;
      }
      expect(run().plans).toEqual(plans);
    }
    expect(racedAtAll).toBeGreaterThan(0);
  });

  it('recommends the truly better combination where a lucky single test would win without re-tests', () => {
    const { space: lucky, observations } = luckyHistory();
    const budget = observations.length + 12;
    const finish = (raced: boolean) => {
      const obs = [...observations];
      for (let g = 1; obs.length < budget; g++) {
        const plan = planGeneration({ space: lucky, generation: g, seed: 1, population: 6, testsPerCombination: 1, retests: 0, budgetLeft: budget - obs.length, budget: raced ? budget : undefined, observations: obs, since: 0, explore: false, watchable: new Set() });
        expect(plan.runs.length).toBeGreaterThan(0);
        evaluate(lucky, obs, plan.runs, g);
      }
      expect(obs).toHaveLength(budget);
      return recommend(lucky, obs)?.combination;
    };
    expect(finish(true)).toEqual(B);
    expect(finish(false)).toEqual(A);
  });

  it('spends nothing on a race, and plans exactly as without one, on a deterministic landscape without failures', () => {
    const f = (c: Combination) => (Number(c.x) - 0.3) ** 2 + (Number(c.y) - 0.7) ** 2;
    const raced = study(space, f, { budget: 40, seed: 2, raced: true });
    const plain = study(space, f, { budget: 40, seed: 2, raced: false });
    expect(raced.plans.every((p) => p.raceRuns === 0)).toBe(true);
    expect(raced.plans).toEqual(plain.plans);
  });
});
