import { describe, expect, it } from 'vitest';
import { MAX_RETESTS, retestCandidates, scoreCombinations, type Scored } from '../../src/evolution/index.js';
import { planeSpace } from './helpers.js';

const entry = (key: string, score: number, tests: number, successes = tests, spread: number | null = tests >= 2 ? 1 : null): Scored => ({
  key,
  combination: { key },
  tests,
  successes,
  successRate: tests ? successes / tests : 0,
  mean: successes ? 1 : null,
  spread,
  score,
});

describe('retestCandidates', () => {
  it('retests the least tested among the best, before more tested ones', () => {
    const scored = [entry('a', 0.9, 3), entry('b', 0.8, 1), entry('c', 0.7, 1), entry('d', 0.6, 2), entry('e', 0.1, 1)];
    expect(retestCandidates(scored, 2).map((s) => s.key)).toEqual(['b', 'c']);
    expect(retestCandidates(scored, 1).map((s) => s.key)).toEqual(['b']);
  });

  it('skips combinations that never succeeded or were tested enough', () => {
    const scored = [entry('a', 0.9, MAX_RETESTS), entry('b', 0, 2, 0), entry('c', 0.5, 1)];
    expect(retestCandidates(scored, 3).map((s) => s.key)).toEqual(['c']);
  });

  it('asks for nothing once repeated tests show the landscape is deterministic', () => {
    const scored = [entry('a', 0.9, 2, 2, 0), entry('b', 0.8, 1), entry('c', 0.7, 1)];
    expect(retestCandidates(scored, 2)).toEqual([]);
  });

  it('reads a spread of rounding errors as no spread: 0.1 three times is deterministic', () => {
    const space = planeSpace();
    const obs = (key: string, x: number, values: number[]) => values.map((value) => ({ key, combination: { x, y: 0 }, success: true, value, generation: 0, trial: 0 }));
    const scored = scoreCombinations(space, [...obs('a', 0.5, [0.1, 0.1, 0.1]), ...obs('b', 0.2, [5]), ...obs('c', 0.3, [6])]);
    // A spread this small next to the values is rounding, from whichever computation it came.
    const rounded = scored.map((s) => (s.key === 'a' ? { ...s, spread: 1.7e-17 } : s));
    expect(retestCandidates(rounded, 2)).toEqual([]);
    expect(retestCandidates(scored, 2)).toEqual([]);
    // A real spread, however small next to the values, is noise.
    const noisy = scoreCombinations(space, [...obs('a', 0.5, [0.1, 0.1, 0.1 + 1e-6]), ...obs('b', 0.2, [5]), ...obs('c', 0.3, [6])]);
    expect(retestCandidates(noisy, 2).map((s) => s.key)).toEqual(['b', 'c']);
  });

  it('asks for nothing when count is 0', () => {
    expect(retestCandidates([entry('a', 1, 1)], 0)).toEqual([]);
  });
});
