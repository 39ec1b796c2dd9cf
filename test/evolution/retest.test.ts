import { describe, expect, it } from 'vitest';
import { MAX_RETESTS, retestCandidates, type Scored } from '../../src/evolution/index.js';

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

  it('asks for nothing when count is 0', () => {
    expect(retestCandidates([entry('a', 1, 1)], 0)).toEqual([]);
  });
});
