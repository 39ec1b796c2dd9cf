import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/protocol/index.js';
import { dimsOf, encode } from '../../src/evolution/encoding.js';
import { parseSpace } from '../../src/evolution/index.js';
import { features, fitRbf, solve, tailColumns } from '../../src/evolution/surrogate.js';
import { fitFailures } from '../../src/evolution/feasibility.js';

describe('solve', () => {
  it('solves a small system and reports a singular one', () => {
    expect(solve([[2, 1], [1, 3]], [3, 5])).toEqual([0.8, 1.4]);
    expect(solve([[1, 2], [2, 4]], [1, 2])).toBeNull();
  });
});

describe('the RBF surrogate', () => {
  const space = parseSpace({
    name: 's',
    objective: { metric: 'v', direction: 'minimize' },
    variables: { x: { type: 'float', min: 0, max: 1 }, mode: { type: 'categorical', choices: ['a', 'b', 'c'] } },
  });
  const dims = dimsOf(space);
  const f = (x: number, mode: string) => (x - 0.3) ** 2 + (mode === 'b' ? 0 : 0.5);

  it('interpolates its points and ranks unseen ones by the landscape', () => {
    const rng = createRng(1);
    const points = Array.from({ length: 30 }, (_, i) => ({ x: rng.next(), mode: ['a', 'b', 'c'][i % 3]! }));
    const xs = points.map((c) => features(dims, encode(space, c)));
    const ys = points.map((c) => f(c.x, c.mode));
    const s = fitRbf(xs, ys, tailColumns(dims), ys.map(() => 1e-10))!;
    xs.forEach((x, i) => expect(s.predict(x)).toBeCloseTo(ys[i]!, 5));
    const at = (x: number, mode: string) => s.predict(features(dims, encode(space, { x, mode })));
    expect(at(0.3, 'b')).toBeLessThan(at(0.3, 'a'));
    expect(at(0.3, 'b')).toBeLessThan(at(0.9, 'b'));
  });

  it('still fits when a choice never appears (its tail column would be singular)', () => {
    const points = [0.1, 0.4, 0.6, 0.9].map((x) => ({ x, mode: 'a' }));
    const xs = points.map((c) => features(dims, encode(space, c)));
    const s = fitRbf(xs, points.map((c) => f(c.x, c.mode)), tailColumns(dims), xs.map(() => 1e-10));
    expect(s).not.toBeNull();
    expect(s!.predict(xs[1]!)).toBeCloseTo(f(0.4, 'a'), 5);
  });
});

describe('the failure model', () => {
  it('marks a region that always fails and shrinks isolated failures toward the overall rate', () => {
    const points: number[][] = [];
    const tests: number[] = [];
    const failures: number[] = [];
    for (let i = 0; i < 20; i++) {
      const x = i / 19;
      points.push([x]);
      tests.push(1);
      failures.push(x > 0.8 ? 1 : 0);
    }
    const model = fitFailures(points, tests, failures, 1);
    expect(model.probability([0.95])).toBeGreaterThan(0.5);
    expect(model.probability([0.1])).toBeLessThan(0.1);
    expect(fitFailures(points, tests, tests.map(() => 0), 1).probability([0.5])).toBe(0);
  });
});
