import { distance } from './surrogate.js';

/**
 * How likely a candidate is to fail, from the failures of its tested neighbours:
 * a Gaussian-kernel average of failure rates in feature space, shrunk toward the
 * overall failure rate (weight `prior` tests) so an isolated failure does not
 * condemn a region. Random failures then raise every candidate's estimate alike
 * and change no ranking, while a region that always fails stands out and is
 * avoided. Keeping failures out of the value surrogate matters: a good
 * combination that failed once by chance must not read as a bad one.
 */
export interface FailureModel {
  probability(x: readonly number[]): number;
}

export function fitFailures(
  points: readonly number[][],
  tests: readonly number[],
  failures: readonly number[],
  dimensions: number,
  prior = 2,
): FailureModel {
  let totalTests = 0;
  let totalFailures = 0;
  for (let i = 0; i < points.length; i++) {
    totalTests += tests[i]!;
    totalFailures += failures[i]!;
  }
  const base = totalTests ? totalFailures / totalTests : 0;
  if (totalFailures === 0) return { probability: () => 0 };
  // About a third of the typical distance between two random points of the cube.
  const h = 0.3 * Math.sqrt(Math.max(1, dimensions) / 6);
  const inv = 1 / (2 * h * h);
  return {
    probability(x) {
      let t = prior;
      let f = prior * base;
      for (let i = 0; i < points.length; i++) {
        const k = Math.exp(-(distance(x, points[i]!) ** 2) * inv);
        t += k * tests[i]!;
        f += k * failures[i]!;
      }
      return f / t;
    },
  };
}
