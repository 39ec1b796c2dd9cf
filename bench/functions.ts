/**
 * Standard test landscapes for the evolution part, each with its space in the
 * public JSON format, a seeded evaluation, its noise-free value on the final
 * landscape and its known optimum. Used by bench/evolution-quality.ts and the
 * end-to-end test in test/evolution.
 */
import type { Rng } from '../src/protocol/index.js';
import { parseSpace, type Combination, type Space } from '../src/evolution/index.js';

export interface Evaluation {
  success: boolean;
  value: number | null;
}

export interface BenchFunction {
  name: string;
  /** What it stresses, for the report. */
  about: string;
  space: Space;
  /** One test: `trial` is the global evaluation counter (the drifting landscape moves on it); `rng` supplies noise and failures. */
  evaluate(c: Combination, trial: number, rng: Rng): Evaluation;
  /** Noise-free value on the landscape as it is at the end of the budget. */
  exact(c: Combination): number;
  optimum: number;
}

const num = (c: Combination, name: string) => c[name] as number;

function gaussian(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

const floats = (names: readonly string[], min: number, max: number) =>
  Object.fromEntries(names.map((n) => [n, { type: 'float', min, max }]));


function deterministic(f: (c: Combination) => number) {
  return { evaluate: (c: Combination) => ({ success: true, value: f(c) }), exact: f };
}

const names = (dims: number) => Array.from({ length: dims }, (_, i) => `x${i + 1}`);
/** A fixed shift per dimension, so no optimum sits at the centre of the box. */
const SHIFTS = [1.3, -2.1, 0.7, 3.2, -0.4, 2.6, -1.2, 0.3, -3.1, 1.8];

/** Shifted sphere on [−5, 5]ᵈ (5-d by default): the smooth baseline every optimizer should win. */
export function sphere(dims = 5): BenchFunction {
  const xs = names(dims);
  const f = (c: Combination) => xs.reduce((s, n, i) => s + (num(c, n) - SHIFTS[i]!) ** 2, 0);
  return {
    name: `sphere-${dims}d`,
    about: `shifted sphere, ${dims} floats`,
    space: parseSpace({ name: 'sphere', objective: { metric: 'value', direction: 'minimize' }, variables: floats(xs, -5, 5) }),
    ...deterministic(f),
    optimum: 0,
  };
}

/** Shifted Rastrigin on [−5.12, 5.12]ᵈ (5-d by default): about 10ᵈ local minima. */
export function rastrigin(dims = 5): BenchFunction {
  const xs = names(dims);
  const shift = [1.1, -0.7, 2.3, -1.9, 0.4, -2.4, 0.9, 1.6, -0.2, -1.3];
  const f = (c: Combination) =>
    xs.reduce((s, n, i) => {
      const z = num(c, n) - shift[i]!;
      return s + z * z - 10 * Math.cos(2 * Math.PI * z) + 10;
    }, 0);
  return {
    name: `rastrigin-${dims}d`,
    about: `shifted Rastrigin, ${dims} floats, multimodal`,
    space: parseSpace({ name: 'rastrigin', objective: { metric: 'value', direction: 'minimize' }, variables: floats(xs, -5.12, 5.12) }),
    ...deterministic(f),
    optimum: 0,
  };
}

/**
 * Cheap settings are unreliable: three floats whose mean s sets both the cost
 * of a run (0.4 + 2s², plus a penalty for spreading the three apart) and its
 * chance of success, 1 / (1 + e^(−10(s − 0.4))), so the cheapest runs fail
 * most. Failed runs are retried (`failures: retry`): a recommendation is
 * judged by its expected cost per success, cost / P(success), whose minimum
 * lies at s ≈ 0.53, where a run fails about one time in five.
 */
export function unreliableCheap(): BenchFunction {
  const xs = names(3);
  const mean = (c: Combination) => xs.reduce((a, n) => a + num(c, n), 0) / xs.length;
  const cost = (c: Combination) => {
    const s = mean(c);
    return 0.4 + 2 * s * s + xs.reduce((a, n) => a + (num(c, n) - s) ** 2, 0);
  };
  const pSuccess = (c: Combination) => 1 / (1 + Math.exp(-10 * (mean(c) - 0.4)));
  const perSuccess = (c: Combination) => cost(c) / pSuccess(c);
  let optimum = Infinity;
  for (let i = 0; i <= 10_000; i++) optimum = Math.min(optimum, perSuccess(Object.fromEntries(xs.map((n) => [n, i / 10_000]))));
  return {
    name: 'unreliable-cheap',
    about: 'cheap runs fail most; judged by cost per success',
    space: parseSpace({ name: 'unreliable', objective: { metric: 'cost', direction: 'minimize', failures: 'retry' }, variables: floats(xs, 0, 1) }),
    evaluate: (c, _trial, rng) => (rng.next() < pSuccess(c) ? { success: true, value: cost(c) } : { success: false, value: null }),
    exact: perSuccess,
    optimum,
  };
}

/**
 * A configuration landscape: latency of a service by compression codec, thread
 * count and buffer size (log-scaled ints), a ratio and a timeout (linear and log
 * floats) and a cache flag, with interactions: the best thread count depends on the
 * codec, the best buffer and ratio on the cache, and the cache hurts without
 * compression. Optimum 0.2 at zstd, 16 threads, 256 KiB, ratio 0.7, 0.5 s, cache on.
 */
export function mixed(): BenchFunction {
  const base: Record<string, number> = { none: 3, lz4: 1, zstd: 0.5, gzip: 2 };
  const idealThreads: Record<string, number> = { none: 4, lz4: 8, zstd: 16, gzip: 4 };
  const f = (c: Combination) => {
    const codec = c.compression as string;
    const cache = c.cache as boolean;
    const threads = Math.log2(num(c, 'threads') / idealThreads[codec]!);
    const buffer = Math.log2(num(c, 'buffer_kb') / (cache ? 256 : 1024));
    const ratio = num(c, 'ratio') - (cache ? 0.7 : 0.3);
    const timeout = Math.log10(num(c, 'timeout_s') / 0.5);
    const cacheEffect = cache ? (codec === 'none' ? 0.8 : -0.3) : 0;
    return base[codec]! + 0.15 * threads ** 2 + 0.05 * buffer ** 2 + 4 * ratio ** 2 + 0.5 * timeout ** 2 + cacheEffect;
  };
  return {
    name: 'mixed-config',
    about: 'categorical + log ints + floats + bool, interacting',
    space: parseSpace({
      name: 'service-latency',
      objective: { metric: 'latency', direction: 'minimize' },
      variables: {
        compression: { type: 'categorical', choices: ['none', 'lz4', 'zstd', 'gzip'] },
        threads: { type: 'int', min: 1, max: 64, log: true },
        buffer_kb: { type: 'int', min: 4, max: 4096, log: true },
        ratio: { type: 'float', min: 0, max: 1 },
        timeout_s: { type: 'float', min: 0.01, max: 10, log: true },
        cache: { type: 'bool' },
      },
    }),
    ...deterministic(f),
    optimum: 0.2,
  };
}

/**
 * Four concatenated 4-bit deceptive traps over 16 bools, maximised: a block scores
 * 4 when all its bits are on and 3 − (bits on) otherwise, so every local signal
 * points to "all off" (12) while the optimum is "all on" (16).
 */
export function trap(): BenchFunction {
  const BITS = Array.from({ length: 16 }, (_, i) => `b${String(i).padStart(2, '0')}`);
  const f = (c: Combination) => {
    let total = 0;
    for (let block = 0; block < 4; block++) {
      let on = 0;
      for (let j = 0; j < 4; j++) if (c[BITS[block * 4 + j]!] === true) on++;
      total += on === 4 ? 4 : 3 - on;
    }
    return total;
  };
  return {
    name: 'deceptive-trap',
    about: '4 × 4-bit deceptive traps over 16 bools, maximise',
    space: parseSpace({
      name: 'trap',
      objective: { metric: 'fitness', direction: 'maximize' },
      variables: Object.fromEntries(BITS.map((b) => [b, { type: 'bool' }])),
    }),
    ...deterministic(f),
    optimum: 16,
  };
}

/**
 * A noisy job-queue cost with failures: Gaussian noise (σ 0.5, about 5 % of the
 * range) on every test, 10 % of tests failing at random, and a crash region
 * (more than 24 workers on the lifo queue always fails). Optimum 0 at x 0.62,
 * y 0.27, 12 workers, priority queue.
 */
export function noisy(): BenchFunction {
  const queuePenalty: Record<string, number> = { fifo: 0.5, lifo: 1, priority: 0 };
  const f = (c: Combination) =>
    10 * ((num(c, 'x') - 0.62) ** 2 + (num(c, 'y') - 0.27) ** 2) +
    0.5 * Math.log2(num(c, 'workers') / 12) ** 2 +
    queuePenalty[c.queue as string]!;
  return {
    name: 'noisy-failing',
    about: 'noise σ 0.5 + 10 % random failures + a crash region',
    space: parseSpace({
      name: 'job-queue',
      objective: { metric: 'cost', direction: 'minimize' },
      variables: {
        x: { type: 'float', min: 0, max: 1 },
        y: { type: 'float', min: 0, max: 1 },
        workers: { type: 'int', min: 1, max: 32, log: true },
        queue: { type: 'categorical', choices: ['fifo', 'lifo', 'priority'] },
      },
    }),
    evaluate: (c, _trial, rng) => {
      const crash = c.queue === 'lifo' && num(c, 'workers') > 24;
      if (crash || rng.next() < 0.1) return { success: false, value: null };
      return { success: true, value: f(c) + 0.5 * gaussian(rng) };
    },
    exact: f,
    optimum: 0,
  };
}

/**
 * A landscape whose optimum moves at trial `switchAt` (half the budget): four
 * floats and a mode; before, the best is near (0.2, 0.8, 0.3, 0.7) in mode a,
 * after, near (0.75, 0.25, 0.6, 0.15) in mode c. Regret is measured after the move.
 */
export function drifting(switchAt: number): BenchFunction {
  const X4 = ['x1', 'x2', 'x3', 'x4'];
  const before = { centre: [0.2, 0.8, 0.3, 0.7], mode: { a: 0, b: 0.5, c: 1 } as Record<string, number> };
  const after = { centre: [0.75, 0.25, 0.6, 0.15], mode: { a: 1, b: 0.5, c: 0 } as Record<string, number> };
  const value = (land: typeof before, c: Combination) =>
    10 * X4.reduce((s, n, i) => s + (num(c, n) - land.centre[i]!) ** 2, 0) + land.mode[c.mode as string]!;
  return {
    name: 'drifting',
    about: `optimum moves at trial ${switchAt}`,
    space: parseSpace({
      name: 'drifting',
      objective: { metric: 'value', direction: 'minimize' },
      variables: { ...floats(X4, 0, 1), mode: { type: 'categorical', choices: ['a', 'b', 'c'] } },
    }),
    evaluate: (c, trial) => ({ success: true, value: value(trial < switchAt ? before : after, c) }),
    exact: (c) => value(after, c),
    optimum: 0,
  };
}

/** The suite for one budget (the drifting landscape moves at half of it). */
export function benchFunctions(budget: number): BenchFunction[] {
  return [sphere(), sphere(8), rastrigin(), rastrigin(10), mixed(), trap(), noisy(), unreliableCheap(), drifting(Math.floor(budget / 2))];
}
