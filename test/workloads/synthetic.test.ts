import { describe, it, expect } from 'vitest';
import { createRng, ManualClock, type Rng } from '../../src/protocol/index.js';
import { COMPRESSION_SPACE, syntheticEvaluator, syntheticLandscape, type SpaceLike } from '../../src/workloads/index.js';
import type { Variables } from '../../src/protocol/index.js';

const space = (direction: 'minimize' | 'maximize' = 'minimize'): SpaceLike => ({
  name: 'mixed',
  objective: { metric: 'value', direction },
  variables: {
    x: { type: 'float', min: -5, max: 5 },
    learningRate: { type: 'float', min: 1e-4, max: 1, log: true },
    workers: { type: 'int', min: 1, max: 20 },
    batch: { type: 'int', min: 1, max: 1024, log: true },
    algorithm: { type: 'categorical', choices: ['a', 'b', 'c'] },
    cache: { type: 'bool' },
  },
});

/** A uniformly random combination of the space, from a seeded source. */
function sample(s: SpaceLike, rng: Rng): Variables {
  const out: Variables = {};
  for (const [name, spec] of Object.entries(s.variables)) {
    if (spec.type === 'bool') out[name] = rng.next() < 0.5;
    else if (spec.type === 'categorical') out[name] = spec.choices[Math.floor(rng.next() * spec.choices.length)]!;
    else {
      const x = spec.min + rng.next() * (spec.max - spec.min);
      out[name] = spec.type === 'int' ? Math.round(x) : x;
    }
  }
  return out;
}

const open = () => new AbortController().signal;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

describe('syntheticLandscape', () => {
  it('is the same for the same seed and differs for another', () => {
    const a = syntheticLandscape(space(), 42);
    const b = syntheticLandscape(space(), 42);
    const c = syntheticLandscape(space(), 43);
    const v = sample(space(), createRng(1));
    expect(a.value(v, 0)).toBe(b.value(v, 0));
    expect(a.optimum(0)).toEqual(b.optimum(0));
    expect(c.optimum(0).variables).not.toEqual(a.optimum(0).variables);
  });

  it('does not depend on the order the variables are written in', () => {
    const reversed: SpaceLike = { ...space(), variables: Object.fromEntries(Object.entries(space().variables).reverse()) };
    expect(syntheticLandscape(reversed, 5).optimum(0)).toEqual(syntheticLandscape(space(), 5).optimum(0));
  });

  it('has an optimum that is a valid combination of the space', () => {
    const { variables } = syntheticLandscape(space(), 9).optimum(0);
    expect(Number.isInteger(variables['workers'])).toBe(true);
    expect(Number.isInteger(variables['batch'])).toBe(true);
    expect(variables['batch']).toBeGreaterThanOrEqual(1);
    expect(variables['batch']).toBeLessThanOrEqual(1024);
    expect(variables['learningRate']).toBeGreaterThan(1e-4);
    expect(variables['learningRate']).toBeLessThan(1);
    expect(['a', 'b', 'c']).toContain(variables['algorithm']);
    expect(typeof variables['cache']).toBe('boolean');
  });

  it.each([1, 2, 3, 4, 5])('has an optimum no random combination beats (seed %i, minimize)', (seed) => {
    const landscape = syntheticLandscape(space(), seed);
    const best = landscape.optimum(0).value;
    expect(best).toBe(1);
    const rng = createRng(seed * 1000);
    for (let i = 0; i < 5_000; i++) expect(landscape.value(sample(space(), rng), 0)).toBeGreaterThanOrEqual(best);
  });

  it('has an optimum no random combination beats when maximizing, with every value negated', () => {
    const max = syntheticLandscape(space('maximize'), 3);
    const min = syntheticLandscape(space('minimize'), 3);
    expect(max.optimum(0)).toEqual({ variables: min.optimum(0).variables, value: -1 });
    const rng = createRng(77);
    for (let i = 0; i < 5_000; i++) {
      const v = sample(space(), rng);
      expect(max.value(v, 0)).toBe(-min.value(v, 0));
      expect(max.value(v, 0)).toBeLessThanOrEqual(-1);
    }
  });

  it('moves its optimum at the drift trial and not before', () => {
    const landscape = syntheticLandscape(space(), 11, { driftAtTrial: 100 });
    const before = landscape.optimum(99);
    const after = landscape.optimum(100);
    expect(before).toEqual(landscape.optimum(0));
    expect(after).toEqual(landscape.optimum(5_000));
    expect(after.variables).not.toEqual(before.variables);
    expect(after.value).toBe(1);
    // What was best is now worse than the new optimum.
    expect(landscape.value(before.variables, 100)).toBeGreaterThan(after.value);
    expect(landscape.value(after.variables, 99)).toBeGreaterThan(before.value);
    expect(syntheticLandscape(space(), 11).optimum(100)).toEqual(before);
  });

  it('names a missing or invalid variable', () => {
    const landscape = syntheticLandscape(space(), 1);
    const v = landscape.optimum(0).variables;
    const { x: _x, ...withoutX } = v;
    expect(() => landscape.value(withoutX, 0)).toThrow(expect.objectContaining({ code: 'ORC_PROTOCOL_MISSING_FIELD', message: 'variable x is missing' }));
    expect(() => landscape.value({ ...v, algorithm: 'z' }, 0)).toThrow(/variable algorithm must be one of \["a","b","c"\], got "z"/);
    expect(() => landscape.value({ ...v, workers: '3' }, 0)).toThrow(/variable workers must be a finite number/);
  });

  it('works over any space, the compression space and an empty one included', () => {
    const compression = syntheticLandscape(COMPRESSION_SPACE, 2);
    expect(compression.value(compression.optimum(0).variables, 0)).toBe(1);
    const empty = syntheticLandscape({ objective: { metric: 'value', direction: 'minimize' }, variables: {} }, 2);
    expect(empty.optimum(0)).toEqual({ variables: {}, value: 1 });
  });
});

describe('syntheticEvaluator', () => {
  it('answers the same (seed, trial, variables) the same, noise and failures included', async () => {
    const evaluate = syntheticEvaluator(space(), { seed: 4, noise: 0.2, failureRate: 0.3 });
    const rng = createRng(8);
    for (let i = 0; i < 200; i++) {
      const input = { variables: sample(space(), rng), trial: i };
      expect(await evaluate(input, open())).toEqual(await evaluate(input, open()));
    }
  });

  it('returns the landscape value exactly without noise, with a latency metric', async () => {
    const landscape = syntheticLandscape(space(), 6);
    const evaluate = syntheticEvaluator(space(), { seed: 6 });
    const variables = sample(space(), createRng(2));
    const evaluation = await evaluate({ variables, trial: 0 }, open());
    expect(evaluation).toMatchObject({ success: true, value: landscape.value(variables, 0), reason: null, durationMs: 0 });
    expect(evaluation.metrics['latencyMs']).toBeGreaterThan(0);
  });

  it('adds noise with about the configured relative standard deviation over 2,000 trials', async () => {
    const landscape = syntheticLandscape(space(), 12);
    const evaluate = syntheticEvaluator(space(), { seed: 12, noise: 0.1 });
    const rng = createRng(99);
    const relative: number[] = [];
    for (let trial = 0; trial < 2_000; trial++) {
      const variables = sample(space(), rng);
      const exact = landscape.value(variables, trial);
      relative.push(((await evaluate({ variables, trial }, open())).value! - exact) / Math.abs(exact));
    }
    expect(Math.abs(mean(relative))).toBeLessThan(0.01);
    expect(std(relative)).toBeGreaterThan(0.09);
    expect(std(relative)).toBeLessThan(0.11);
  });

  it('fails about the configured share of 2,000 trials, saying why', async () => {
    const evaluate = syntheticEvaluator(space(), { seed: 13, failureRate: 0.2 });
    const rng = createRng(100);
    let failures = 0;
    for (let trial = 0; trial < 2_000; trial++) {
      const evaluation = await evaluate({ variables: sample(space(), rng), trial }, open());
      if (!evaluation.success) {
        failures++;
        expect(evaluation).toMatchObject({ value: null, reason: 'synthetic failure (failureRate 0.2)' });
      }
    }
    // 400 expected; four standard deviations (about 18 each) either side.
    expect(failures).toBeGreaterThan(328);
    expect(failures).toBeLessThan(472);
  });

  it('does not fail every combination of a trial together', async () => {
    const evaluate = syntheticEvaluator(space(), { seed: 14, failureRate: 0.5 });
    const rng = createRng(5);
    const outcomes = new Set<boolean>();
    for (let i = 0; i < 20; i++) outcomes.add((await evaluate({ variables: sample(space(), rng), trial: 3 }, open())).success);
    expect(outcomes).toEqual(new Set([true, false]));
  });

  it('scores on the drifted landscape from the drift trial on', async () => {
    const landscape = syntheticLandscape(space(), 15, { driftAtTrial: 50 });
    const evaluate = syntheticEvaluator(space(), { seed: 15, driftAtTrial: 50 });
    const old = landscape.optimum(0).variables;
    expect((await evaluate({ variables: old, trial: 49 }, open())).value).toBe(1);
    expect((await evaluate({ variables: old, trial: 50 }, open())).value).toBeGreaterThan(1);
    expect((await evaluate({ variables: landscape.optimum(50).variables, trial: 50 }, open())).value).toBe(1);
  });

  it('fails, rather than throws, on an invalid combination', async () => {
    const evaluation = await syntheticEvaluator(space(), { seed: 1 })({ variables: { x: 1 }, trial: 0 }, open());
    expect(evaluation).toMatchObject({ success: false, value: null, reason: 'variable batch is missing' });
  });

  it('takes its simulated duration on the clock, and rejects when aborted meanwhile', async () => {
    const clock = new ManualClock();
    const evaluate = syntheticEvaluator(space(), { seed: 1, clock, delayMs: 250 });
    const variables = sample(space(), createRng(3));
    let done = false;
    const running = evaluate({ variables, trial: 0 }, open()).then((e) => ((done = true), e));
    await clock.advance(249);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(await running).toMatchObject({ success: true, durationMs: 250 });

    const controller = new AbortController();
    const aborted = evaluate({ variables, trial: 1 }, controller.signal);
    const reason = new Error('stopped');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses impossible options', () => {
    const bad = (options: Parameters<typeof syntheticEvaluator>[1]) => () => syntheticEvaluator(space(), options);
    expect(bad({ seed: 1, failureRate: 1.5 })).toThrow(expect.objectContaining({ code: 'ORC_CONFIG_INVALID' }));
    expect(bad({ seed: 1, noise: -0.1 })).toThrow(/noise must be a number ≥ 0/);
    expect(bad({ seed: 1, delayMs: 10 })).toThrow(/delayMs needs a clock/);
  });
});
