import { describe, it, expect } from 'vitest';
import { createRng } from '../../src/protocol/index.js';
import { combinationKey, parseSpace, recommendation, SuccessModel, type Observation } from '../../src/evolution/index.js';

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
    expect(rec.success.p).toBeGreaterThanOrEqual(0.9);
    // The lucky one is judged by its region, with the uncertainty one test leaves.
    const luckyEstimate = new SuccessModel(space, observed).estimate(lucky);
    expect(luckyEstimate.p).toBeLessThan(0.5);
    expect(luckyEstimate.high - luckyEstimate.low).toBeGreaterThan(0.1);
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
        const success = i % 10 >= failures / 2;
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
