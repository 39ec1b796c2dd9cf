import { describe, expect, it } from 'vitest';
import { DEFAULT_SCORE_WEIGHTS, parseSpace, scoreCombinations } from '../../src/evolution/index.js';
import { observer, planeSpace } from './helpers.js';

const A = { x: 0.1, y: 0.1 };
const B = { x: 0.2, y: 0.2 };
const C = { x: 0.3, y: 0.3 };

describe('scoreCombinations', () => {
  it('averages repeated tests of a key and counts successes', () => {
    const space = planeSpace();
    const o = observer(space);
    o.add(A, 1);
    o.add(A, 3);
    o.add(A, null);
    o.add(B, 5);
    const [a, b] = scoreCombinations(space, o.observations);
    expect(a).toMatchObject({ combination: A, tests: 3, successes: 2, successRate: 2 / 3, mean: 2 });
    expect(a!.spread).toBeCloseTo(Math.SQRT2, 12);
    expect(b).toMatchObject({ tests: 1, successes: 1, successRate: 1, mean: 5, spread: null });
  });

  it('ranks by the objective in its direction', () => {
    for (const direction of ['minimize', 'maximize'] as const) {
      const space = planeSpace(direction);
      const o = observer(space);
      o.add(A, 1);
      o.add(B, 2);
      o.add(C, 3);
      const order = scoreCombinations(space, o.observations).map((s) => s.mean);
      expect(order).toEqual(direction === 'minimize' ? [1, 2, 3] : [3, 2, 1]);
    }
  });

  it('normalises the objective over what was observed: best 1, worst 0', () => {
    const space = planeSpace();
    const o = observer(space);
    o.add(A, 10);
    o.add(B, 20);
    o.add(C, 30);
    const w = DEFAULT_SCORE_WEIGHTS;
    const scores = scoreCombinations(space, o.observations).map((s) => s.score);
    expect(scores[0]).toBeCloseTo(w.successRate + w.objective, 12);
    expect(scores[1]).toBeCloseTo(w.successRate + w.objective / 2, 12);
    expect(scores[2]).toBeCloseTo(w.successRate, 12);
  });

  it('rewards a higher success rate at the same mean', () => {
    const space = planeSpace();
    const o = observer(space);
    for (const v of [1, 1, 1, 1]) o.add(A, v);
    for (const v of [1, 1, 1, null]) o.add(B, v);
    o.add(C, 5);
    const [first, second] = scoreCombinations(space, o.observations);
    expect(first!.combination).toEqual(A);
    expect(second!.combination).toEqual(B);
    expect(first!.score - second!.score).toBeCloseTo(DEFAULT_SCORE_WEIGHTS.successRate * 0.25, 12);
  });

  it('penalises spread: at the same mean the steadier combination wins', () => {
    const space = planeSpace();
    const o = observer(space);
    for (const v of [2, 2, 2]) o.add(A, v);
    for (const v of [0, 2, 4]) o.add(B, v);
    o.add(C, 10);
    const scored = scoreCombinations(space, o.observations);
    expect(scored[0]!.combination).toEqual(A);
    expect(scored[1]!.combination).toEqual(B);
    expect(scored[1]!.spread).toBe(2);
    expect(scored[0]!.score).toBeGreaterThan(scored[1]!.score);
  });

  it('charges a combination tested once the pooled spread of the others, not zero', () => {
    const space = planeSpace();
    const o = observer(space);
    for (const v of [0, 2]) o.add(A, v); // mean 1, spread √2
    o.add(B, 1); // the same mean from a single test
    o.add(C, 11);
    const scored = scoreCombinations(space, o.observations);
    const a = scored.find((s) => s.key === o.observations[0]!.key)!;
    const b = scored.find((s) => s.key === o.observations[2]!.key)!;
    expect(b.score).toBeCloseTo(a.score, 12);
  });

  it('scores 0 without a success, below any success, and handles no results at all', () => {
    const space = planeSpace();
    const o = observer(space);
    o.add(A, null);
    o.add(A, null);
    o.add(B, 100);
    o.add(C, 1);
    const scored = scoreCombinations(space, o.observations);
    const failed = scored.find((s) => s.combination === A)!;
    expect(failed).toMatchObject({ tests: 2, successes: 0, successRate: 0, mean: null, spread: null, score: 0 });
    expect(scored.at(-1)).toBe(failed);
    expect(scored.find((s) => s.combination === B)!.score).toBeGreaterThan(0);
    expect(scoreCombinations(space, [])).toEqual([]);
  });

  it('gives every combination the full objective when all means are equal', () => {
    const space = planeSpace();
    const o = observer(space);
    o.add(A, 4);
    o.add(B, 4);
    const w = DEFAULT_SCORE_WEIGHTS;
    for (const s of scoreCombinations(space, o.observations)) expect(s.score).toBeCloseTo(w.successRate + w.objective, 12);
  });

  it('treats a success without a finite value as a failure', () => {
    const space = planeSpace();
    const o = observer(space);
    o.add(A, 1);
    o.observations.push({ ...o.observations[0]!, value: Number.NaN, trial: 1 });
    expect(scoreCombinations(space, o.observations)[0]).toMatchObject({ tests: 2, successes: 1, mean: 1 });
  });

  it('takes custom weights', () => {
    const space = planeSpace();
    const o = observer(space);
    o.add(A, 1);
    o.add(B, 2);
    const scored = scoreCombinations(space, o.observations, { successRate: 0, objective: 1, spread: 0 });
    expect(scored.map((s) => s.score)).toEqual([1, 0]);
  });

  it('orders ties by evidence, then by key, whatever the input order', () => {
    const space = planeSpace();
    const forward = observer(space);
    const backward = observer(space);
    for (const c of [A, B, C]) forward.add(c, 1);
    for (const c of [C, B, A]) backward.add(c, 1);
    const keys = (obs: typeof forward.observations) => scoreCombinations(space, obs).map((s) => s.key);
    expect(keys(forward.observations)).toEqual(keys(backward.observations));
  });
});

describe('spread of repeated results', () => {
  it('is exactly 0 for repeats of one value, whatever rounding the mean picks up', () => {
    const space = parseSpace({ name: 's', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'int', min: 0, max: 9 } } });
    const value = 0.1 + 0.2; // 0.30000000000000004
    const observations = [0, 1, 2].map((trial) => ({ key: '{"x":1}', combination: { x: 1 }, success: true, value, generation: 0, trial }));
    expect(scoreCombinations(space, observations)[0]!.spread).toBe(0);
  });
});
