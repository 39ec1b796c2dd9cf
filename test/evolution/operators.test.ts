import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/protocol/index.js';
import { decode, dimsOf, encode } from '../../src/evolution/encoding.js';
import { parseSpace } from '../../src/evolution/index.js';
import { crossover, mutate, sbx, tournament } from '../../src/evolution/operators.js';
import { respectsSpace, zlibSpace } from './helpers.js';

const space = zlibSpace();
const dims = dimsOf(space);
const a = { dict: true, level: 2, ratio: 0.1, strategy: 'default', window: 512 };
const b = { dict: false, level: 8, ratio: 0.9, strategy: 'rle', window: 16384 };

describe('tournament', () => {
  it('prefers fitter individuals but gives others a chance', () => {
    const rng = createRng(1);
    const wins = new Array(4).fill(0);
    for (let i = 0; i < 4000; i++) wins[tournament(rng, [3, 2, 1, 0])]++;
    expect(wins[0]).toBeGreaterThan(wins[1]);
    expect(wins[1]).toBeGreaterThan(wins[2]);
    expect(wins[2]).toBeGreaterThan(wins[3]);
    expect(wins[3]).toBeGreaterThan(0);
  });
});

describe('sbx', () => {
  it('stays in [0, 1] and near the parents more often than not', () => {
    const rng = createRng(2);
    let near = 0;
    for (let i = 0; i < 2000; i++) {
      const c = sbx(rng, 0.4, 0.6, 10);
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(1);
      if (c > 0.3 && c < 0.7) near++;
    }
    expect(near).toBeGreaterThan(1800);
  });

  it('returns the common value of identical parents', () => {
    expect(sbx(createRng(1), 0.25, 0.25, 10)).toBe(0.25);
  });
});

describe('crossover', () => {
  it('yields valid combinations whose choices come from a parent', () => {
    const rng = createRng(3);
    const ua = encode(space, a);
    const ub = encode(space, b);
    for (let i = 0; i < 3000; i++) {
      const child = decode(space, crossover(rng, dims, ua, ub, { eta: 10 }));
      expect(respectsSpace(space, child)).toBe(true);
      expect([a.strategy, b.strategy]).toContain(child.strategy);
      expect([a.dict, b.dict]).toContain(child.dict);
    }
  });

  it('blends ordered values between and around the parents', () => {
    const rng = createRng(4);
    const ratios = new Set<number>();
    for (let i = 0; i < 500; i++) ratios.add(decode(space, crossover(rng, dims, encode(space, a), encode(space, b), { eta: 10 })).ratio as number);
    expect([...ratios].some((r) => r > 0.2 && r < 0.8)).toBe(true);
  });
});

describe('mutate', () => {
  const sigma = dims.map(() => 0.1);

  it('yields valid combinations and always changes something', () => {
    const rng = createRng(5);
    const u = encode(space, a);
    for (let i = 0; i < 3000; i++) {
      const child = decode(space, mutate(rng, dims, u, { rate: 0.2, sigma }));
      expect(respectsSpace(space, child)).toBe(true);
      expect(child).not.toEqual(a);
    }
  });

  it('moves a mutated int to another integer and a mutated choice to another choice', () => {
    const rng = createRng(6);
    const u = encode(space, a);
    for (let i = 0; i < 1000; i++) {
      const child = decode(space, mutate(rng, dims, u, { rate: 1, sigma: dims.map(() => 0.001) }));
      expect(child.level).not.toBe(a.level);
      expect(child.window).not.toBe(a.window);
      expect(child.strategy).not.toBe(a.strategy);
      expect(child.dict).not.toBe(a.dict);
    }
  });

  it('steps a log-scaled variable by factors, not by amounts', () => {
    const s = parseSpace({ name: 'l', objective: { metric: 'v', direction: 'minimize' }, variables: { rate: { type: 'float', min: 1e-6, max: 1, log: true } } });
    const d = dimsOf(s);
    const rng = createRng(7);
    const from = 1e-3;
    const ratios: number[] = [];
    for (let i = 0; i < 2000; i++) ratios.push((decode(s, mutate(rng, d, encode(s, { rate: from }), { rate: 1, sigma: [0.05] })).rate as number) / from);
    // A step of 0.05 in the cube is ×/÷ 2 on this 6-decade scale: as many halvings as doublings.
    const up = ratios.filter((r) => r > 1.5).length;
    const down = ratios.filter((r) => r < 1 / 1.5).length;
    expect(Math.abs(up - down)).toBeLessThan(150);
    expect(Math.min(...ratios)).toBeGreaterThan(0);
    for (const r of ratios) expect(from * r).toBeGreaterThanOrEqual(1e-6);
  });

  it('reflects at the bounds instead of piling values on them', () => {
    const rng = createRng(8);
    const s = parseSpace({ name: 'b', objective: { metric: 'v', direction: 'minimize' }, variables: { x: { type: 'float', min: 0, max: 1 } } });
    const d = dimsOf(s);
    let atBound = 0;
    for (let i = 0; i < 1000; i++) {
      const x = decode(s, mutate(rng, d, [0.99], { rate: 1, sigma: [0.2] })).x as number;
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(1);
      if (x === 1) atBound++;
    }
    expect(atBound).toBe(0);
  });

  it('leaves a fixed variable alone', () => {
    const s = parseSpace({
      name: 'f',
      objective: { metric: 'v', direction: 'minimize' },
      variables: { fixed: { type: 'int', min: 3, max: 3 }, x: { type: 'float', min: 0, max: 1 } },
    });
    const d = dimsOf(s);
    const rng = createRng(9);
    for (let i = 0; i < 200; i++) expect(decode(s, mutate(rng, d, encode(s, { fixed: 3, x: 0.5 }), { rate: 1, sigma: [0.1, 0.1] })).fixed).toBe(3);
  });
});
