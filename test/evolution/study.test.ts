import { describe, expect, it } from 'vitest';
import { combinationKey, observationsOf, recommend, recommendation, type Combination } from '../../src/evolution/index.js';
import { observer, planeSpace } from './helpers.js';

const A = { x: 0.1, y: 0.1 };
const B = { x: 0.5, y: 0.5 };
const C = { x: 0.9, y: 0.9 };
const space = planeSpace();

describe('observationsOf', () => {
  const key = (c: Combination) => combinationKey(space, c);
  const combinations = new Map([A, B].map((c) => [key(c), c]));

  it('leaves out campaign runs and combinations the study does not know', () => {
    const out = observationsOf(
      [
        { key: key(A), generation: 0, trial: 0, success: true, value: 2 },
        { key: key(A), generation: -1, trial: 0, success: true, value: -100 },
        { key: key(C), generation: 0, trial: 1, success: true, value: 1 },
      ],
      combinations,
    );
    expect(out).toEqual([{ key: key(A), combination: A, success: true, value: 2, generation: 0, trial: 0 }]);
  });

  it('counts a success without a finite value as a failure', () => {
    const out = observationsOf(
      [
        { key: key(A), generation: 0, trial: 0, success: true, value: null, at: 5 },
        { key: key(B), generation: 0, trial: 1, success: true, value: Number.NaN },
        { key: key(B), generation: 0, trial: 2, success: false, value: 3 },
      ],
      combinations,
    );
    expect(out.map((o) => [o.success, o.value])).toEqual([
      [false, null],
      [false, null],
      [false, null],
    ]);
    expect(out[0]!.at).toBe(5);
  });
});

describe('recommendation', () => {
  const filters = { minSuccessRate: 0.9 };

  it('is what recommend ranks first when that one passes the filters', () => {
    const o = observer(space);
    o.add(A, 3);
    o.add(B, 1);
    o.add(C, 2);
    const r = recommendation({ space, observations: o.observations, exploreFrom: null }, filters)!;
    expect(r.best).toEqual(recommend(space, o.observations));
    expect(r).toMatchObject({ classification: 'elite', since: 0, fellBack: false });
  });

  it('skips a combination below the success rate asked for and takes the next that passes', () => {
    const o = observer(space);
    // B: best value, but three of its five tests fail; C and A never fail.
    for (const v of [1, 1, null, null, null]) o.add(B, v);
    for (let i = 0; i < 10; i++) o.add(C, 2);
    for (let i = 0; i < 5; i++) o.add(A, 3);
    const evidence = { space, observations: o.observations, exploreFrom: null };
    const strict = recommendation(evidence, filters)!;
    expect(strict.best.combination).toEqual(C);
    expect(strict.success.p).toBeGreaterThanOrEqual(0.9);
    expect(recommendation(evidence, { minSuccessRate: 0.5 })!.best.combination).toEqual(B);
  });

  it('falls back to the best elite or significant combination when none passes, and says so', () => {
    const o = observer(space);
    o.add(A, 3);
    o.add(A, null);
    o.add(B, 1);
    o.add(B, null);
    const r = recommendation({ space, observations: o.observations, exploreFrom: null }, filters)!;
    expect(r.best.combination).toEqual(B);
    expect(r.fellBack).toBe(true);
  });

  it('keeps to the class asked for', () => {
    const o = observer(space);
    for (const [c, v] of [[A, 5], [B, 1], [C, 3], [{ x: 0.3, y: 0.3 }, 4], [{ x: 0.7, y: 0.7 }, 6]] as const) o.add(c, v);
    const r = recommendation({ space, observations: o.observations, exploreFrom: null }, { minSuccessRate: 0.9, classification: 'significant' })!;
    expect(r.classification).toBe('significant');
    expect(r.best.combination).toEqual(C);
    expect(r.fellBack).toBe(false);
  });

  it('judges only what was measured since the last environment change', () => {
    const o = observer(space);
    o.add(A, 0);
    o.add(B, 5);
    o.add(A, 9); // trial 2: the landscape moved
    o.add(C, 4);
    const r = recommendation({ space, observations: o.observations, exploreFrom: 2 }, filters)!;
    expect(r.best.combination).toEqual(C);
    expect(r.since).toBe(2);
    expect(r.evidence.map((e) => e.trial)).toEqual([2, 3]);
  });

  it('stands on the older evidence while nothing since the change has succeeded', () => {
    const o = observer(space);
    o.add(A, 1);
    o.add(B, 5);
    o.add(C, null);
    const r = recommendation({ space, observations: o.observations, exploreFrom: 2 }, filters)!;
    expect(r.best.combination).toEqual(A);
    expect(r.since).toBe(0);
  });

  it('is none while nothing has succeeded', () => {
    const o = observer(space);
    o.add(A, null);
    expect(recommendation({ space, observations: o.observations, exploreFrom: null }, filters)).toBeUndefined();
    expect(recommendation({ space, observations: [], exploreFrom: 3 }, filters)).toBeUndefined();
  });
});
