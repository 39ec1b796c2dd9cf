import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/protocol/index.js';
import { decode, dimsOf, encode } from '../../src/evolution/encoding.js';
import { parseSpace } from '../../src/evolution/index.js';
import { respectsSpace, zlibSpace } from './helpers.js';

describe('the unit-cube encoding', () => {
  const space = zlibSpace();

  it('round-trips every int level, choice and bool', () => {
    for (let level = 1; level <= 9; level++) {
      for (const strategy of ['default', 'filtered', 'huffman', 'rle']) {
        for (const dict of [false, true]) {
          const c = { dict, level, ratio: 0.25, strategy, window: 300 };
          expect(decode(space, encode(space, c))).toEqual(c);
        }
      }
    }
  });

  it('round-trips every integer of a log-scaled int', () => {
    for (let window = 256; window <= 32768; window += 97) {
      const c = { dict: false, level: 1, ratio: 0, strategy: 'rle', window };
      expect(decode(space, encode(space, c)).window).toBe(window);
    }
  });

  it('maps the middle of a log scale to the geometric mean', () => {
    const s = parseSpace({ name: 'l', objective: { metric: 'v', direction: 'minimize' }, variables: { rate: { type: 'float', min: 1e-4, max: 1, log: true } } });
    expect(decode(s, [0.5]).rate).toBeCloseTo(1e-2, 12);
    expect(decode(s, [0]).rate).toBe(1e-4);
    expect(decode(s, [1]).rate).toBe(1);
  });

  it('gives each integer an equal share of a linear int', () => {
    const counts = new Map<number, number>();
    for (let i = 0; i < 900; i++) {
      const level = decode(space, [0.5, (i + 0.5) / 900, 0.5, 0.5, 0.5]).level as number;
      counts.set(level, (counts.get(level) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual(new Array(9).fill(100));
  });

  it('always decodes within types and bounds, even from coordinates outside [0, 1]', () => {
    const rng = createRng(1);
    const d = dimsOf(space).length;
    for (let i = 0; i < 2000; i++) {
      const u = Array.from({ length: d }, () => rng.next() * 1.4 - 0.2);
      expect(respectsSpace(space, decode(space, u))).toBe(true);
    }
  });
});
