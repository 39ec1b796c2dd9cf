import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DRIFT_OPTIONS,
  detectDrift,
  binomialTail,
  detectEliteDrift,
  environmentDrift,
  normalTail,
  parseSpace,
  repeatNoise,
  studentCritical,
  type DriftPoint,
  type EliteDriftPoint,
  type ResultAt,
} from '../../src/evolution/index.js';
import { driftLooks } from '../../src/evolution/analysis.js';
import { createRng, type Rng } from '../../src/protocol/index.js';

const DAY = 24 * 60 * 60 * 1000;

/** A baseline of 1.0 before the window and one recent score. */
const series = (recent: number, now: number, windowMs: number) => [
  { at: now - windowMs - 3 * DAY, score: 1 },
  { at: now - windowMs - 2 * DAY, score: 1 },
  { at: now - 1, score: recent },
];

describe('detectDrift', () => {
  const now = Date.UTC(2025, 0, 31);
  const windowMs = 7 * DAY;

  it('defaults to a 7-day window, a 20 % threshold and a two-sigma test', () => {
    expect(DEFAULT_DRIFT_OPTIONS).toEqual({ windowMs: 7 * DAY, threshold: 0.2, sigmas: 2 });
  });

  it.each([
    [0.801, false], // 19.9 % below
    [0.8, false], // exactly 20 %: not a change
    [0.799, true], // 20.1 %
    [0.5, true],
    [1.2, false], // better is never a drift
  ])('recent %d against a baseline of 1 → changed %s', (recent, changed) => {
    const report = detectDrift(series(recent, now, windowMs), { windowMs, threshold: 0.2, now });
    expect(report.changed).toBe(changed);
    expect(report.baseline).toBe(1);
    expect(report.recent).toBe(recent);
    expect(report.drop).toBeCloseTo(1 - recent, 12);
  });

  it('reads exactly 20 % as 20 % despite floating point (0.5 → 0.4, 10 → 8)', () => {
    const at = (score: number, t: number) => ({ at: t, score });
    expect(detectDrift([at(0.5, now - 2 * windowMs), at(0.4, now)], { windowMs, threshold: 0.2, now }).changed).toBe(false);
    expect(detectDrift([at(10, now - 2 * windowMs), at(8, now)], { windowMs, threshold: 0.2, now }).changed).toBe(false);
    expect(detectDrift([at(0.3, now - 2 * windowMs), at(0.24, now)], { windowMs, threshold: 0.2, now }).changed).toBe(false);
  });

  it('counts a point exactly at the window start as recent, and one just before it as baseline', () => {
    const start = now - windowMs;
    const points = [
      { at: start - 1, score: 1 },
      { at: start, score: 0.5 },
    ];
    expect(detectDrift(points, { windowMs, threshold: 0.2, now })).toEqual({ changed: true, baseline: 1, recent: 0.5, drop: 0.5, noise: null, explained: 0 });
    // A millisecond later the window has moved past both: no recent scores, no change.
    expect(detectDrift(points, { windowMs, threshold: 0.2, now: now + 1 })).toMatchObject({ changed: false, recent: null });
    // A millisecond earlier it holds both: no baseline, no change.
    expect(detectDrift(points, { windowMs, threshold: 0.2, now: now - 1 })).toMatchObject({ changed: false, baseline: null });
  });

  it('ignores points after now', () => {
    const points = [
      { at: now - 2 * windowMs, score: 1 },
      { at: now - DAY, score: 0.95 },
      { at: now + DAY, score: 0.1 },
    ];
    expect(detectDrift(points, { windowMs, threshold: 0.2, now })).toMatchObject({ changed: false, recent: 0.95 });
  });

  it('averages each side: baseline is every point before the window', () => {
    const points = [
      { at: now - 30 * DAY, score: 0.6 },
      { at: now - 20 * DAY, score: 1.0 },
      { at: now - 3 * DAY, score: 0.7 },
      { at: now - 2 * DAY, score: 0.5 },
    ];
    const report = detectDrift(points, { windowMs, threshold: 0.2, now });
    expect(report.baseline).toBeCloseTo(0.8, 12);
    expect(report.recent).toBeCloseTo(0.6, 12);
    expect(report.drop).toBeCloseTo(0.25, 12);
    expect(report.changed).toBe(true);
  });

  it('reports no change without a baseline, without recent scores, or with a baseline ≤ 0', () => {
    const none = { noise: null, explained: 0 };
    expect(detectDrift([{ at: now - DAY, score: 0.1 }], { windowMs, threshold: 0.2, now })).toEqual({ changed: false, baseline: null, recent: 0.1, drop: null, ...none });
    expect(detectDrift([{ at: now - 30 * DAY, score: 1 }], { windowMs, threshold: 0.2, now })).toEqual({ changed: false, baseline: 1, recent: null, drop: null, ...none });
    expect(detectDrift([], { windowMs, threshold: 0.2, now })).toEqual({ changed: false, baseline: null, recent: null, drop: null, ...none });
    expect(detectDrift([{ at: now - 30 * DAY, score: 0 }, { at: now, score: -1 }], { windowMs, threshold: 0.2, now }).changed).toBe(false);
  });

  it('uses the defaults when only now is given', () => {
    const points = [
      { at: now - 8 * DAY, score: 1 },
      { at: now - 6 * DAY, score: 0.5 },
    ];
    expect(detectDrift(points, { now }).changed).toBe(true);
  });
});

/** A standard normal draw (Box–Muller) from a seeded source. */
const gaussian = (rng: Rng) => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());

describe('detectDrift with noise', () => {
  const now = 100;
  const windowMs = 9; // generations 91–100 are recent

  /** Ten combinations at level 1, three results each before the window, noise σ; then `recent` results of one of them. */
  function noisySeries(seed: number, sigma: number, recent: number[]): DriftPoint[] {
    const rng = createRng(seed);
    const points: DriftPoint[] = [];
    for (let k = 0; k < 10; k++) for (let i = 0; i < 3; i++) points.push({ key: `k${k}`, at: 10 * i + k, score: 1 + sigma * gaussian(rng) });
    recent.forEach((score, i) => points.push({ key: 'k0', at: 95 + i, score }));
    return points;
  }

  it('estimates the noise from repeated results of one key', () => {
    const noise = repeatNoise([
      { at: 0, score: 1, key: 'a' },
      { at: 1, score: 3, key: 'a' },
      { at: 2, score: 5, key: 'b' },
      { at: 3, score: 7, key: 'b' },
      { at: 4, score: 100, key: 'c' },
    ]);
    expect(noise).toEqual({ sd: Math.sqrt(2), dof: 2 });
    expect(repeatNoise([{ at: 0, score: 1, key: 'a' }, { at: 1, score: 2 }])).toBeNull();
  });

  it('does not call a fall beyond the threshold a change when the noise explains it', () => {
    // One recent result 25 % below a baseline whose results stray by σ 0.3: noise, not a change.
    const report = detectDrift(noisySeries(1, 0.3, [0.75]), { windowMs, now });
    expect(report.drop).toBeGreaterThan(0.2);
    expect(report.noise).toBeGreaterThan(0.2);
    expect(report.explained).toBeGreaterThan(report.baseline! - report.recent!);
    expect(report.changed).toBe(false);
  });

  it('calls a real fall with the same noise a change', () => {
    const report = detectDrift(noisySeries(1, 0.3, [0.3, 0.25, 0.4, 0.2]), { windowMs, now });
    expect(report.baseline! - report.recent!).toBeGreaterThan(report.explained);
    expect(report.changed).toBe(true);
  });

  it('takes the noise from the caller when given, and needs both conditions', () => {
    const points = [
      { at: 0, score: 1 },
      { at: 1, score: 1 },
      { at: 99, score: 0.7 },
    ];
    // se = 0.1 · √(1/2 + 1) ≈ 0.122; two of them ≈ 0.245 < the fall of 0.3.
    expect(detectDrift(points, { windowMs, now, noise: 0.1 }).changed).toBe(true);
    // se ≈ 0.184; two of them ≈ 0.37 > 0.3: noise explains it.
    expect(detectDrift(points, { windowMs, now, noise: 0.15 })).toMatchObject({ changed: false, noise: 0.15 });
    // With no test (sigmas 0) the threshold alone decides again.
    expect(detectDrift(points, { windowMs, now, noise: 0.15, sigmas: 0 }).changed).toBe(true);
  });
});

describe('detectEliteDrift', () => {
  const now = 10; // generations 9 and 10 are recent
  const windowMs = 1;

  /**
   * Forty combinations of true level in [0.2, 0.9]; before the window each tested once
   * and the five best-looking tested again twice; within the window the best-looking
   * two tested three times each. Results are the level plus noise σ 0.2, and fail
   * (score 0) one time in ten. When `moved`, the landscape moved before the window: the
   * old elite's results are those of a poor combination (level 0.1).
   */
  function study(seed: number, moved: boolean): EliteDriftPoint[] {
    const rng = createRng(seed);
    const levels = Array.from({ length: 40 }, () => 0.2 + 0.7 * rng.next());
    const test = (k: number, at: number, level = levels[k]!) => {
      const failed = rng.next() < 0.1;
      return { key: `c${k}`, at, failed, score: failed ? 0 : Math.max(0, level + 0.2 * gaussian(rng)) };
    };
    const points = levels.map((_, k) => test(k, Math.floor(k / 5)));
    const firstLooks = [...points].sort((a, b) => b.score - a.score);
    for (const p of firstLooks.slice(0, 5)) {
      const k = Number(p.key.slice(1));
      points.push(test(k, 6), test(k, 7));
    }
    for (const p of firstLooks.slice(0, 2)) {
      const k = Number(p.key.slice(1));
      const level = moved ? 0.1 : undefined;
      points.push(test(k, 9, level), test(k, 10, level), test(k, 10, level));
    }
    return points;
  }

  it('raises few false alarms where noise and the winner’s curse make the plain rule cry wolf', () => {
    let noisy = 0;
    let plain = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const points = study(seed, false);
      if (detectEliteDrift(points, { windowMs, now }).changed) noisy++;
      // The plain rule: the best-looking before the window, their raw means, the threshold alone.
      const means = new Map<string, number[]>();
      for (const p of points.filter((q) => q.at < now - windowMs)) means.set(p.key, [...(means.get(p.key) ?? []), p.score]);
      const elite = [...means.entries()].map(([key, xs]) => ({ key, m: xs.reduce((a, b) => a + b, 0) / xs.length })).sort((a, b) => b.m - a.m).slice(0, 4).map((e) => e.key);
      if (detectDrift(points.filter((p) => elite.includes(p.key)).map(({ at, score }) => ({ at, score })), { windowMs, now }).changed) plain++;
    }
    expect(plain).toBeGreaterThanOrEqual(60);
    expect(noisy).toBeLessThanOrEqual(6);
  });

  it('detects a real fall with the same noise most of the time from one window of six results', () => {
    let detected = 0;
    for (let seed = 1; seed <= 200; seed++) if (detectEliteDrift(study(seed, true), { windowMs, now }).changed) detected++;
    expect(detected).toBeGreaterThanOrEqual(120);
  });

  it('keeps the plain threshold on a landscape without noise: 20 % is not a change, 20.1 % is', () => {
    const points = (recent: number) => [
      { key: 'a', at: 0, score: 1 },
      { key: 'a', at: 1, score: 1 },
      { key: 'b', at: 0, score: 0.5 },
      { key: 'a', at: 10, score: recent },
    ];
    expect(detectEliteDrift(points(0.8), { windowMs, now })).toMatchObject({ changed: false, noise: 0, baseline: 1, elite: ['a'] });
    expect(detectEliteDrift(points(0.799), { windowMs, now })).toMatchObject({ changed: true, noise: 0, explained: 0 });
  });

  it('reports where a change began: the elite’s first result within the window that fell', () => {
    const points: EliteDriftPoint[] = [
      { key: 'a', at: 0, trial: 0, score: 1 },
      { key: 'b', at: 0, trial: 1, score: 0.5 },
      { key: 'a', at: 1, trial: 5, score: 1 },
      { key: 'a', at: 9, trial: 40, score: 0.95 }, // within the window, before the move
      { key: 'a', at: 10, trial: 52, score: 0.2 },
      { key: 'a', at: 10, trial: 53, score: 0.1 },
    ];
    expect(detectEliteDrift(points, { windowMs, now })).toMatchObject({ changed: true, since: 52 });
    // Without a change there is no such trial.
    expect(detectEliteDrift(points.slice(0, 4), { windowMs, now })).toMatchObject({ changed: false, since: null });
  });

  it('calls nothing a change before some combination was tested twice before the window', () => {
    const points = [
      { key: 'a', at: 0, score: 1 },
      { key: 'b', at: 0, score: 0.5 },
      { key: 'a', at: 10, score: 0.1 },
    ];
    expect(detectEliteDrift(points, { windowMs, now })).toMatchObject({ changed: false, noise: null });
  });

  it('judges the elite by shrunk levels: several good results beat one lucky one', () => {
    const points = [
      ...[0.9, 0.5, 0.9, 0.7, 0.8].map((score, i) => ({ key: 'steady', at: i, score })),
      { key: 'lucky', at: 0, score: 0.95 },
      ...Array.from({ length: 8 }, (_, i) => ({ key: `o${i}`, at: 0, score: 0.4 + 0.05 * i })),
      { key: 'steady', at: 10, score: 0.6 },
    ];
    const report = detectEliteDrift(points, { windowMs, now });
    expect(report.elite).toEqual(['steady']);
    // What the steady one is expected to score lies between the mean of all and its own mean (0.76).
    expect(report.baseline!).toBeLessThan(0.76);
    expect(report.baseline!).toBeGreaterThan(0.5);
    expect(report.changed).toBe(false);
  });

  it('counts random failures as noise: one failed retest where one test in ten fails is not a change', () => {
    const points: EliteDriftPoint[] = [
      ...[0.9, 0.95, 0.85].map((score, i) => ({ key: 'best', at: i, score })),
      ...[0.6, 0.65].map((score, i) => ({ key: 'good', at: i, score })),
      ...Array.from({ length: 17 }, (_, i) => ({ key: `o${i}`, at: 0, score: 0.05 * i })),
      ...Array.from({ length: 3 }, (_, i) => ({ key: `f${i}`, at: 0, score: 0, failed: true })),
      { key: 'best', at: 10, score: 0, failed: true },
      { key: 'best', at: 10, score: 0.9 },
    ];
    expect(detectEliteDrift(points, { windowMs, now }).changed).toBe(false);
    // Nor is a window holding that one failure alone: one in ten makes it plausible.
    expect(detectEliteDrift(points.slice(0, -1), { windowMs, now }).changed).toBe(false);
    // Where nothing else ever failed, the same failure is a change.
    const neverFails = points.filter((p) => !p.key.startsWith('f'));
    expect(detectEliteDrift(neverFails, { windowMs, now }).changed).toBe(true);
  });
});

describe('drift checks over a whole study', () => {
  const now = 10; // generations 9 and 10 are recent
  const windowMs = 1;

  /**
   * Thirty results before the window, three of them failed (one test in ten), the
   * best combination steady near 0.9; within the window its retests, given.
   */
  const window = (recent: EliteDriftPoint[]): EliteDriftPoint[] => [
    ...[0.9, 0.92, 0.88, 0.9, 0.91, 0.89, 0.9, 0.9].map((score, i) => ({ key: 'best', at: i, score })),
    ...Array.from({ length: 19 }, (_, i) => ({ key: `o${i % 12}`, at: i % 8, score: 0.2 + 0.02 * i })),
    ...Array.from({ length: 3 }, (_, i) => ({ key: `o${i}`, at: 3 + i, score: 0, failed: true })),
    ...recent,
  ];
  const failed = (at: number): EliteDriftPoint => ({ key: 'best', at, score: 0, failed: true });

  it('spends the failures’ level over the checks: two failed retests where one test in ten fails are a change at the first check only', () => {
    // Both fail: 1 % where one in ten fails, below the 2.3 % of one check, above 2.3 % / 3.
    const twoFailed = window([failed(9), failed(10)]);
    expect(binomialTail(2, 2, 0.1)).toBeCloseTo(0.01, 12);
    expect(detectEliteDrift(twoFailed, { windowMs, now }).changed).toBe(true);
    expect(detectEliteDrift(twoFailed, { windowMs, now, looks: 1 }).changed).toBe(true);
    expect(detectEliteDrift(twoFailed, { windowMs, now, looks: 2 }).changed).toBe(true);
    expect(detectEliteDrift(twoFailed, { windowMs, now, looks: 3 })).toMatchObject({ changed: false, since: null });
    expect(detectEliteDrift(twoFailed, { windowMs, now, looks: 17 }).changed).toBe(false);
    // Three of three (0.1 %) are still a change at the tenth check (0.23 %), not at the thirtieth (0.08 %).
    const threeFailed = window([failed(9), failed(10), failed(10)]);
    expect(detectEliteDrift(threeFailed, { windowMs, now, looks: 10 }).changed).toBe(true);
    expect(detectEliteDrift(threeFailed, { windowMs, now, looks: 30 }).changed).toBe(false);
  });

  it('keeps the level of the fall at every check: a real fall of the successes is a change at any', () => {
    const retests = (...scores: number[]) => window(scores.map((score, i) => ({ key: 'best', at: 9 + (i % 2), score })));
    const fell = retests(0.3, 0.35, 0.3, 0.4);
    for (const looks of [1, 5, 50]) expect(detectEliteDrift(fell, { windowMs, now, looks })).toMatchObject({ changed: true, since: 9 });
    const steady = retests(0.86, 0.9, 0.88, 0.91);
    for (const looks of [1, 5, 50]) expect(detectEliteDrift(steady, { windowMs, now, looks }).changed).toBe(false);
  });

  it('counts the checks of the landscape as it is now from its results', () => {
    const results = (generations: number[], atOf = (g: number) => g * 100): ResultAt[] =>
      generations.map((generation, trial) => ({ key: `k${trial}`, generation, at: atOf(generation), trial, success: true, value: 1 }));
    const byGenerations = { windowMs: 0, windowGenerations: 2 };
    // Generations 0–5, a window of two: generation 2 is the first with results before its window.
    expect(driftLooks(results([0, 1, 2, 3, 4, 5]), { ...byGenerations, generation: 2 })).toBe(1);
    expect(driftLooks(results([0, 1, 2, 3, 4, 5]), { ...byGenerations, generation: 5 })).toBe(4);
    expect(driftLooks(results([0, 1]), { ...byGenerations, generation: 1 })).toBe(1);
    // After a change the results start at generation 3: the count starts again.
    expect(driftLooks(results([3, 4, 5]), { ...byGenerations, generation: 5 })).toBe(1);
    expect(driftLooks([], { ...byGenerations, generation: 5 })).toBe(1);
    // A window of 150 ms, a generation every 100 ms: generations 2 and 3 had results before
    // their windows (ending at their last results, 200 and 300), and this one is the third.
    expect(driftLooks(results([0, 1, 2, 3]), { windowMs: 150, generation: 4 })).toBe(3);
  });

  /**
   * A study as `orchestra optimize` runs one at budget 400, simulated: twenty
   * generations of twenty new combinations tested once, each later generation
   * opening with one retest of the best-looking combination tested before the
   * drift window (two generations); costs noisy (σ 0.5) with a search that
   * closes in on low costs, and 12 % of tests failing at random. With
   * `moveAt`, from that generation the combinations tested before it cost 5
   * more. Returns each generation's verdict, as the analysis gives it.
   */
  function studyVerdicts(seed: number, options: { moveAt?: number; looks?: number } = {}): boolean[] {
    const space = parseSpace({ name: 's', objective: { metric: 'cost', direction: 'minimize' }, variables: { x: { type: 'float', min: 0, max: 1 } } });
    const rng = createRng(seed);
    const cost = new Map<string, number>();
    const results: ResultAt[] = [];
    const moved = (g: number) => options.moveAt !== undefined && g >= options.moveAt;
    const test = (key: string, g: number) => {
      const failed = rng.next() < 0.12;
      const value = cost.get(key)! + (moved(g) && !key.startsWith('new') ? 5 : 0) + 0.5 * gaussian(rng);
      results.push({ key, generation: g, at: results.length, trial: results.length, success: !failed, value: failed ? null : value });
    };
    const verdicts: boolean[] = [];
    for (let g = 0; g < 20; g++) {
      if (g >= 1) {
        const seen = new Map<string, number[]>();
        for (const r of results) if (r.generation < g - 1 && r.success) seen.set(r.key, [...(seen.get(r.key) ?? []), r.value!]);
        const best = [...seen.entries()].map(([key, xs]) => ({ key, mean: xs.reduce((a, b) => a + b, 0) / xs.length })).sort((a, b) => a.mean - b.mean)[0];
        if (best) test(best.key, g);
      }
      for (let i = 0; i < 20; i++) {
        const key = `${moved(g) ? 'new' : 'old'}${g}.${i}`;
        cost.set(key, (10 * rng.next()) / (1 + g / 2));
        test(key, g);
      }
      if (g >= 2) {
        const options_ = { generation: g, eliteSize: 2, windowMs: 0, windowGenerations: 2, threshold: 0.2, nowMs: 0 };
        verdicts.push(environmentDrift(space, results, { ...options_, ...(options.looks !== undefined ? { looks: options.looks } : {}) }).changed);
      }
    }
    return verdicts;
  }

  it('raises a false alarm in at most one stationary study in twenty, where one check at a time raised one in eight', () => {
    let alarms = 0;
    let alarmsOneCheck = 0;
    for (let seed = 1; seed <= 200; seed++) {
      if (studyVerdicts(seed).some(Boolean)) alarms++;
      // Every check at the level of a single one, as before the level was spent over the checks.
      if (studyVerdicts(seed, { looks: 1 }).some(Boolean)) alarmsOneCheck++;
    }
    expect(alarms).toBeLessThanOrEqual(10);
    expect(alarmsOneCheck).toBeGreaterThanOrEqual(20);
  });

  it('still sees a real change as often as one check at a time does', () => {
    let detected = 0;
    let detectedOneCheck = 0;
    // Verdicts start at generation 2; the move is at generation 10, seen within three generations.
    const seen = (verdicts: boolean[]) => !verdicts.slice(0, 8).some(Boolean) && verdicts.slice(8, 11).some(Boolean);
    for (let seed = 1; seed <= 100; seed++) {
      if (seen(studyVerdicts(seed, { moveAt: 10 }))) detected++;
      if (seen(studyVerdicts(seed, { moveAt: 10, looks: 1 }))) detectedOneCheck++;
    }
    expect(detected).toBeGreaterThanOrEqual(detectedOneCheck);
    expect(detected).toBeGreaterThanOrEqual(40);
  });
});

describe('normalTail and binomialTail', () => {
  it('give the one-sided normal tail and the binomial upper tail', () => {
    expect(normalTail(0)).toBeCloseTo(0.5, 6);
    expect(normalTail(2)).toBeCloseTo(0.02275, 5);
    expect(normalTail(-1)).toBeCloseTo(0.84134, 5);
    expect(binomialTail(2, 1, 0.1)).toBeCloseTo(0.19, 12);
    expect(binomialTail(3, 2, 0.5)).toBeCloseTo(0.5, 12);
    expect(binomialTail(3, 0, 0.5)).toBe(1);
    expect(binomialTail(3, 4, 0.5)).toBe(0);
    expect(binomialTail(2, 1, 0)).toBe(0);
  });
});

describe('studentCritical', () => {
  it('is near the exact quantiles of Student’s t and tends to the normal', () => {
    // One-sided 97.7 % (z = 2): t(3) ≈ 3.31, t(5) ≈ 2.65, t(10) ≈ 2.28, t(30) ≈ 2.09.
    expect(studentCritical(2, 3)).toBeCloseTo(3.3, 1);
    expect(studentCritical(2, 5)).toBeCloseTo(2.65, 1);
    expect(studentCritical(2, 10)).toBeCloseTo(2.28, 1);
    expect(studentCritical(2, 30)).toBeCloseTo(2.09, 1);
    expect(studentCritical(2, Infinity)).toBe(2);
  });
});
