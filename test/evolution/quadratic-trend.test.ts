import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/protocol/index.js';
import { dimsOf } from '../../src/evolution/encoding.js';
import { parseSpace } from '../../src/evolution/index.js';
import { trendMinimum } from '../../src/evolution/quadratic-trend.js';

const space = parseSpace({
  name: 'trend',
  objective: { metric: 'v', direction: 'minimize' },
  variables: {
    a: { type: 'float', min: 0, max: 1 },
    b: { type: 'float', min: 0, max: 1 },
    mode: { type: 'categorical', choices: ['x', 'y'] },
  },
});
const dims = dimsOf(space);
const points = (n: number, seed: number) => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => [rng.next(), rng.next(), rng.next()]);
};

describe('trendMinimum', () => {
  it('finds the vertex of a separable bowl, keeping the categorical coordinate of the start', () => {
    const us = points(30, 1);
    const ys = us.map((u) => 3 * (u[0]! - 0.3) ** 2 + (u[1]! - 0.8) ** 2);
    const min = trendMinimum(dims, us, ys, [0.5, 0.5, 0.9])!;
    expect(min[0]).toBeCloseTo(0.3, 3);
    expect(min[1]).toBeCloseTo(0.8, 3);
    expect(min[2]).toBe(0.9);
  });

  it('sees the valley under ripples: the bottom of a rippled bowl, not a ripple', () => {
    const us = points(200, 2);
    const ys = us.map((u) => (u[0]! - 0.6) ** 2 + (u[1]! - 0.35) ** 2 + 0.02 * (2 - Math.cos(40 * (u[0]! - 0.6)) - Math.cos(40 * (u[1]! - 0.35))));
    const min = trendMinimum(dims, us, ys, [0, 0, 0])!;
    expect(Math.abs(min[0]! - 0.6)).toBeLessThan(0.03);
    expect(Math.abs(min[1]! - 0.35)).toBeLessThan(0.03);
  });

  it('clamps a vertex outside the box to its edge, and leaves a coordinate whose parabola opens downwards where the start has it', () => {
    const us = points(30, 3);
    const ys = us.map((u) => (u[0]! - 1.4) ** 2 - (u[1]! - 0.5) ** 2);
    const min = trendMinimum(dims, us, ys, [0.2, 0.25, 0.1])!;
    expect(min[0]).toBe(1);
    expect(min[1]).toBe(0.25);
  });

  it('declines with fewer points than twice its coefficients', () => {
    const us = points(9, 4);
    expect(trendMinimum(dims, us, us.map((u) => u[0]!), [0.5, 0.5, 0.5])).toBeNull();
    expect(trendMinimum(dims, points(10, 4), points(10, 4).map((u) => u[0]! ** 2), [0.5, 0.5, 0.5])).not.toBeNull();
  });
});
