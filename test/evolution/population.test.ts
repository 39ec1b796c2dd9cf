import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/protocol/index.js';
import { combinationKey, DEFAULT_POPULATION, initialPopulation, parseSpace } from '../../src/evolution/index.js';
import { respectsSpace, zlibSpace } from './helpers.js';

describe('initialPopulation', () => {
  const space = zlibSpace();

  it('gives DEFAULT_POPULATION (50) valid, distinct combinations', () => {
    expect(DEFAULT_POPULATION).toBe(50);
    const pop = initialPopulation(space, DEFAULT_POPULATION, createRng(1));
    expect(pop).toHaveLength(50);
    for (const c of pop) expect(respectsSpace(space, c)).toBe(true);
    expect(new Set(pop.map((c) => combinationKey(space, c))).size).toBe(50);
  });

  it('covers every int level and every choice of a small range in 50', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const pop = initialPopulation(space, 50, createRng(seed));
      expect(new Set(pop.map((c) => c.level))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]));
      expect(new Set(pop.map((c) => c.strategy))).toEqual(new Set(['default', 'filtered', 'huffman', 'rle']));
      expect(new Set(pop.map((c) => c.dict))).toEqual(new Set([true, false]));
    }
  });

  it('balances choices and bools', () => {
    const pop = initialPopulation(space, 48, createRng(7));
    const count = (name: string, value: unknown) => pop.filter((c) => c[name] === value).length;
    for (const s of ['default', 'filtered', 'huffman', 'rle']) expect(count('strategy', s)).toBe(12);
    expect(count('dict', true)).toBe(24);
  });

  it('puts samples of every float in every decile', () => {
    const pop = initialPopulation(space, 50, createRng(3));
    const deciles = new Set(pop.map((c) => Math.min(9, Math.floor((c.ratio as number) * 10))));
    expect(deciles.size).toBe(10);
  });

  it('spreads a log-scaled int over its decades, not its linear range', () => {
    const pop = initialPopulation(space, 50, createRng(4));
    const windows = pop.map((c) => c.window as number);
    // 256…32768 is 7 octaves; a linear spread would put almost nothing below 2048.
    expect(windows.filter((w) => w < 2048).length).toBeGreaterThanOrEqual(18);
    expect(windows.filter((w) => w >= 8192).length).toBeGreaterThanOrEqual(10);
  });

  it('never returns an excluded key', () => {
    const first = initialPopulation(space, 30, createRng(5));
    const exclude = new Set(first.map((c) => combinationKey(space, c)));
    const second = initialPopulation(space, 30, createRng(5), exclude);
    expect(second).toHaveLength(30);
    for (const c of second) expect(exclude.has(combinationKey(space, c))).toBe(false);
  });

  it('returns what exists when the space is smaller than the population', () => {
    const small = parseSpace({
      name: 'small',
      objective: { metric: 'v', direction: 'minimize' },
      variables: { a: { type: 'bool' }, b: { type: 'categorical', choices: ['x', 'y', 'z'] }, n: { type: 'int', min: 1, max: 2 } },
    });
    const all = initialPopulation(small, 50, createRng(1));
    expect(all).toHaveLength(12);
    expect(new Set(all.map((c) => combinationKey(small, c))).size).toBe(12);
    const rest = initialPopulation(small, 50, createRng(1), new Set(all.slice(0, 5).map((c) => combinationKey(small, c))));
    expect(rest).toHaveLength(7);
  });

  it('returns nothing for size 0 and one combination for a space with one point', () => {
    expect(initialPopulation(space, 0, createRng(1))).toEqual([]);
    const single = parseSpace({ name: 'one', objective: { metric: 'v', direction: 'minimize' }, variables: { n: { type: 'int', min: 4, max: 4 } } });
    expect(initialPopulation(single, 5, createRng(1))).toEqual([{ n: 4 }]);
  });

  it('is a function of the seed', () => {
    expect(initialPopulation(space, 20, createRng(9))).toEqual(initialPopulation(space, 20, createRng(9)));
    expect(initialPopulation(space, 20, createRng(9))).not.toEqual(initialPopulation(space, 20, createRng(10)));
  });
});
