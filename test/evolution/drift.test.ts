import { describe, expect, it } from 'vitest';
import { DEFAULT_DRIFT_OPTIONS, detectDrift } from '../../src/evolution/index.js';

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

  it('defaults to a 7-day window and a 20 % threshold', () => {
    expect(DEFAULT_DRIFT_OPTIONS).toEqual({ windowMs: 7 * DAY, threshold: 0.2 });
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
    expect(detectDrift(points, { windowMs, threshold: 0.2, now })).toEqual({ changed: true, baseline: 1, recent: 0.5, drop: 0.5 });
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
    expect(detectDrift([{ at: now - DAY, score: 0.1 }], { windowMs, threshold: 0.2, now })).toEqual({ changed: false, baseline: null, recent: 0.1, drop: null });
    expect(detectDrift([{ at: now - 30 * DAY, score: 1 }], { windowMs, threshold: 0.2, now })).toEqual({ changed: false, baseline: 1, recent: null, drop: null });
    expect(detectDrift([], { windowMs, threshold: 0.2, now })).toEqual({ changed: false, baseline: null, recent: null, drop: null });
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
