import { describe, expect, it } from 'vitest';
import { observationSchema, recommend } from '../../src/evolution/index.js';
import { observer, planeSpace } from './helpers.js';

const A = { x: 0.1, y: 0.1 };
const B = { x: 0.5, y: 0.5 };
const C = { x: 0.9, y: 0.9 };

describe('recommend', () => {
  it('returns the top combination on a deterministic landscape', () => {
    const space = planeSpace();
    const o = observer(space);
    o.add(A, 3);
    o.add(B, 1);
    o.add(C, 2);
    expect(recommend(space, o.observations)?.combination).toEqual(B);
  });

  it('requires a success, and returns nothing without one', () => {
    const space = planeSpace();
    const o = observer(space);
    o.add(A, null);
    expect(recommend(space, o.observations)).toBeUndefined();
    expect(recommend(space, [])).toBeUndefined();
    o.add(B, 100);
    expect(recommend(space, o.observations)?.combination).toEqual(B);
  });

  it('counts only observations since a trial, e.g. after a drift', () => {
    const space = planeSpace();
    const o = observer(space);
    o.add(A, 0); // the old landscape's best
    o.add(B, 5);
    o.add(A, 9); // trial 2: the landscape moved
    o.add(C, 4);
    expect(recommend(space, o.observations, { since: 2 })?.combination).toEqual(C);
    expect(recommend(space, o.observations, { since: 2 })).toMatchObject({ tests: 1, mean: 4 });
  });

  it('does not promote a single lucky test over a combination confirmed good', () => {
    const space = planeSpace();
    const o = observer(space);
    // Noise is visible: B was tested four times and spreads.
    for (const v of [1.0, 1.4, 0.6, 1.0]) o.add(B, v);
    // A looked better once; its neighbourhood, on a landscape that is smooth
    // everywhere else, says that was luck.
    o.add(A, 0.5);
    for (const [x, y, v] of [[0.12, 0.1, 3], [0.1, 0.12, 3.2], [0.08, 0.1, 2.9], [0.1, 0.08, 3.1], [0.3, 0.3, 2], [0.7, 0.7, 2.1], [0.4, 0.6, 1.3]] as const) o.add({ x, y }, v);
    o.add(C, 5);
    expect(recommend(space, o.observations)?.combination).toEqual(B);
  });

  it('keeps the order of two far-apart combinations whatever their number of tests', () => {
    const space = planeSpace();
    const o = observer(space);
    for (const v of [1, 3]) o.add(B, v); // mean 2, noisy
    o.add(A, 5);
    o.add(C, null);
    expect(recommend(space, o.observations)?.combination).toEqual(B);
  });

  it('prefers, under noise, the combination whose failures are not just chance', () => {
    const space = planeSpace();
    const o = observer(space);
    for (const v of [1, 1.2, 0.8, 1.1, 0.9]) o.add(B, v); // 5 of 5
    for (const v of [1, null, null, 0.9, null]) o.add(A, v); // 2 of 5, about the same mean
    for (const v of [5, 5.2]) o.add(C, v);
    expect(recommend(space, o.observations)?.combination).toEqual(B);
  });
});

describe('observationSchema', () => {
  it('accepts an observation and rejects a value on a failure', () => {
    const ok = { key: 'k', combination: { x: 1 }, success: true, value: 1, generation: 0, trial: 0 };
    expect(observationSchema.parse(ok)).toEqual(ok);
    expect(observationSchema.safeParse({ ...ok, success: false }).success).toBe(false);
    expect(observationSchema.safeParse({ ...ok, success: false, value: null }).success).toBe(true);
  });
});
