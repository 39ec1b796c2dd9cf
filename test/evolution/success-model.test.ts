import { describe, it, expect } from 'vitest';
import { createRng } from '../../src/protocol/index.js';
import { combinationKey, mayReach, parseSpace, recommendation, SuccessModel, type Observation } from '../../src/evolution/index.js';

const space = parseSpace({
  name: 'reliability',
  objective: { metric: 'value', direction: 'minimize' },
  variables: { x: { type: 'float', min: 0, max: 1 }, y: { type: 'float', min: 0, max: 1 } },
});

/** `count` evaluations at random points, each succeeding with `pSuccess(x)`; a success's value is `value(x)`. */
function evaluations(count: number, pSuccess: (x: number) => number, value: (x: number) => number, seed = 1): Observation[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, trial) => {
    const combination = { x: Math.round(rng.next() * 1000) / 1000, y: Math.round(rng.next() * 1000) / 1000 };
    const success = rng.next() < pSuccess(combination.x);
    return { key: combinationKey(space, combination), combination, success, value: success ? value(combination.x) : null, generation: Math.floor(trial / 20), trial };
  });
}

describe('the success model', () => {
  it('follows a success probability that varies smoothly over the space, with intervals that hold the truth', () => {
    const model = new SuccessModel(space, evaluations(400, (x) => x, () => 1));
    for (const x of [0.1, 0.5, 0.9]) {
      const e = model.estimate({ x, y: 0.5 });
      expect(Math.abs(e.p - x)).toBeLessThan(0.15);
      expect(e.low).toBeLessThanOrEqual(x + 0.05);
      expect(e.high).toBeGreaterThanOrEqual(x - 0.05);
      expect(e.evidence).toBeGreaterThan(5);
    }
  });

  it('gives an untested corner of an all-success space a high estimate: the prior never blocks a lone success', () => {
    const model = new SuccessModel(space, evaluations(30, () => 1, (x) => x));
    expect(model.estimate({ x: 0.5, y: 0.5 }).p).toBeGreaterThan(0.9);
  });

  it('does not recommend a combination that succeeded once where most tests fail', () => {
    // Cheap settings (x < 0.5) score better but fail nine times in ten.
    const observed = evaluations(200, (x) => (x < 0.5 ? 0.1 : 0.97), (x) => x);
    const lucky = { x: 0.01, y: 0.5 };
    observed.push({ key: combinationKey(space, lucky), combination: lucky, success: true, value: 0.01, generation: 10, trial: 200 });
    const rec = recommendation({ space, observations: observed, exploreFrom: null }, { minSuccessRate: 0.9 })!;
    expect(rec.fellBack).toBe(false);
    expect(rec.best.combination.x as number).toBeGreaterThanOrEqual(0.5);
    expect(mayReach(rec.best, rec.success, 0.9)).toBe(true);
    // The lucky one is judged by its region, with the uncertainty one test leaves.
    const luckyEstimate = new SuccessModel(space, observed).estimate(lucky);
    expect(luckyEstimate.p).toBeLessThan(0.5);
    expect(luckyEstimate.high - luckyEstimate.low).toBeGreaterThan(0.1);
  });

  it('where one test in ten fails everywhere, recommends the best well-tested combination, not a lone test whose estimate leans high', () => {
    // Success at the rate asked for, everywhere: estimates fall either side of 0.9 by their own noise.
    const observed = evaluations(300, () => 0.9, (x) => 0.2 + x);
    // The best, tested twelve times: two failed, so its estimate leans a little under 0.9.
    const best = { x: 0.001, y: 0.5 };
    for (let i = 0; i < 12; i++) {
      const success = i % 6 !== 5;
      observed.push({ key: combinationKey(space, best), combination: best, success, value: success ? 0.001 : null, generation: 15, trial: observed.length });
    }
    const estimate = new SuccessModel(space, observed).estimate(best);
    expect(estimate.p).toBeLessThan(0.9);
    const rec = recommendation({ space, observations: observed, exploreFrom: null }, { minSuccessRate: 0.9 })!;
    expect(rec.best.combination).toEqual(best);
    expect(rec.fellBack).toBe(false);
  });

  it('refuses a combination the evidence puts below the rate asked for, however well it scores', () => {
    // The best value fails one test in three, over forty tests: no estimate's noise explains that.
    const observed = evaluations(200, () => 0.97, (x) => x);
    const flaky = { x: 0.001, y: 0.5 };
    for (let i = 0; i < 40; i++) {
      const success = i % 3 !== 2;
      observed.push({ key: combinationKey(space, flaky), combination: flaky, success, value: success ? 0.001 : null, generation: 10, trial: observed.length });
    }
    expect(mayReach({ tests: 40, successes: 27 }, new SuccessModel(space, observed).estimate(flaky), 0.9)).toBe(false);
    const rec = recommendation({ space, observations: observed, exploreFrom: null }, { minSuccessRate: 0.9 })!;
    expect(rec.best.combination).not.toEqual(flaky);
    expect(rec.fellBack).toBe(false);
  });

  it('falls back, and says so, when no candidate is likely enough to succeed', () => {
    const observed = evaluations(100, () => 0.3, (x) => x);
    const rec = recommendation({ space, observations: observed, exploreFrom: null }, { minSuccessRate: 0.9 })!;
    expect(rec.fellBack).toBe(true);
    expect(rec.success.p).toBeLessThan(0.6);
  });

  it('with failures retried, recommends the lowest expected cost per success, however often it fails', () => {
    const retried = parseSpace({ ...space, objective: { metric: 'value', direction: 'minimize', failures: 'retry' } });
    const observed: Observation[] = [];
    // Reliable at cost 1; cheap at 0.6 but fails half the time (1.2 per success); cheapest at 0.3, failing four in ten (0.5 per success).
    // Each region: ten combinations close together, tested twice each; `failures` of the twenty tests fail.
    const add = (centre: { x: number; y: number }, value: number, failures: number) => {
      for (let i = 0; i < 20; i++) {
        const combination = { x: centre.x + (i % 10) * 0.004, y: centre.y - (i % 10) * 0.004 };
        // Failing combinations interleaved with the others along the region, not gathered at one end of it.
        const success = (i * 3) % 10 >= failures / 2;
        observed.push({ key: combinationKey(retried, combination), combination, success, value: success ? value : null, generation: 0, trial: observed.length });
      }
    };
    add({ x: 0.1, y: 0.1 }, 1, 0);
    add({ x: 0.5, y: 0.5 }, 0.6, 10);
    add({ x: 0.9, y: 0.9 }, 0.3, 8);
    const rec = recommendation({ space: retried, observations: observed, exploreFrom: null }, { minSuccessRate: 0.9 })!;
    expect(rec.best.combination.x as number).toBeGreaterThanOrEqual(0.9);
    expect(rec.fellBack).toBe(false);
    expect(rec.success.p).toBeLessThan(0.9);
    // Without retries the same evidence recommends the reliable one.
    const excluded = recommendation({ space, observations: observed, exploreFrom: null }, { minSuccessRate: 0.9 })!;
    expect(excluded.best.combination.x as number).toBeLessThan(0.2);
    expect(excluded.fellBack).toBe(false);
  });
});
