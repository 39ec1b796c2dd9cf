import { describe, expect, it } from 'vitest';
import { cholesky, smoothMeans } from '../../src/evolution/smoothing.js';

describe('cholesky', () => {
  it('factors a positive definite matrix and refuses one that is not', () => {
    const l = cholesky([[4, 2], [2, 3]])!;
    expect(l[0]).toEqual([2, 0]);
    expect(l[1]![0]).toBeCloseTo(1);
    expect(l[1]![1]).toBeCloseTo(Math.SQRT2);
    expect(cholesky([[1, 2], [2, 1]])).toBeNull();
  });
});

describe('smoothMeans', () => {
  // A line of points on a smooth slope, y = 10x, with one noisy mean at x = 0.5.
  const xs = Array.from({ length: 11 }, (_, i) => [i / 10]);
  const slope = xs.map(([x]) => 10 * x!);

  it('leaves two points, or fewer, as they are', () => {
    expect(smoothMeans([[0], [1]], [5, 2], [2, 1])).toEqual([5, 2]);
  });

  it('pulls a mean that rests on little evidence toward its neighbours', () => {
    const ys = slope.map((y, i) => (i === 5 ? y - 3 : y));
    const noise = ys.map(() => 0.01);
    noise[5] = 4; // one noisy test
    const smoothed = smoothMeans(xs, ys, noise);
    expect(smoothed[5]).toBeGreaterThan(4);
    expect(Math.abs(smoothed[5]! - 5)).toBeLessThan(1);
    // The well-measured points barely move.
    for (const i of [0, 3, 8]) expect(smoothed[i]).toBeCloseTo(slope[i]!, 1);
  });

  it('keeps a mean that many tests confirm, even where it breaks the pattern', () => {
    const ys = slope.map((y, i) => (i === 5 ? y - 3 : y));
    const smoothed = smoothMeans(xs, ys, ys.map(() => 0.0001));
    expect(smoothed[5]).toBeCloseTo(2, 1);
  });
});
