import { describe, expect, it } from 'vitest';
import { classify, classSizes, type Scored } from '../../src/evolution/index.js';

const scoredList = (n: number): Scored[] =>
  Array.from({ length: n }, (_, i) => ({
    key: `k${String(i).padStart(3, '0')}`,
    combination: { i },
    tests: 1,
    successes: 1,
    successRate: 1,
    mean: i,
    spread: null,
    score: 1 - i / (n + 1),
  }));

describe('classify', () => {
  it.each([
    [1, 1, 0, 0],
    [2, 1, 0, 1],
    [9, 1, 3, 5],
    [10, 1, 4, 5],
    [11, 1, 4, 6],
    [50, 5, 20, 25],
    [101, 10, 40, 51],
  ])('splits %i combinations into %i elite, %i significant, %i deprecated', (n, elite, significant, deprecated) => {
    expect(classSizes(n)).toEqual({ elite, significant, deprecated });
    const counts = { elite: 0, significant: 0, deprecated: 0 };
    for (const c of classify(scoredList(n)).values()) counts[c]++;
    expect(counts).toEqual({ elite, significant, deprecated });
  });

  it('classifies by score order, whatever the input order', () => {
    const list = scoredList(20);
    const classes = classify([...list].reverse());
    expect(classes.get('k000')).toBe('elite');
    expect(classes.get('k001')).toBe('elite');
    expect(classes.get('k002')).toBe('significant');
    expect(classes.get('k009')).toBe('significant');
    expect(classes.get('k010')).toBe('deprecated');
    expect(classes.get('k019')).toBe('deprecated');
  });

  it('returns an empty map for nothing scored', () => {
    expect(classify([]).size).toBe(0);
    expect(classSizes(0)).toEqual({ elite: 0, significant: 0, deprecated: 0 });
  });
});
