import { describe, it, expect } from 'vitest';
import { environmentDrift, generationReport, parseSpace, predictAll, predictionError, type ResultAt, type ScoreAt } from '../../src/evolution/index.js';

const space = parseSpace({ name: 'a', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'float', min: 0, max: 1 } } });

describe('the analysis of a study', () => {
  it('predicts a combination one generation ahead along the least-squares line of its last scores', () => {
    const history: ScoreAt[] = [0.1, 0.2, 0.3, 0.4].map((score, generation) => ({ key: 'k', generation, score }));
    const [prediction] = predictAll(history);
    expect(prediction!.key).toBe('k');
    expect(prediction!.points).toBe(4);
    expect(prediction!.next).toBeCloseTo(0.5, 12);
    // A straight line is predicted exactly from the second point on; a single point predicts itself.
    expect(predictionError(history)).toBeCloseTo(((0.2 - 0.1) + 0 + 0) / 3, 12);
    expect(predictionError([{ key: 'k', generation: 0, score: 1 }])).toBeNull();
  });

  it('reports a generation: best and mean score, diversity, success rate, convergence', () => {
    const history: ScoreAt[] = [
      { key: 'a', generation: 0, score: 0.2 },
      { key: 'b', generation: 0, score: 0.4 },
      { key: 'a', generation: 1, score: 0.6 },
      { key: 'c', generation: 1, score: 0.8 },
    ];
    const results: ResultAt[] = [
      { key: 'a', generation: 1, at: 1, trial: 2, success: true, value: 1 },
      { key: 'c', generation: 1, at: 2, trial: 3, success: true, value: 2 },
      { key: 'c', generation: 1, at: 3, trial: 4, success: false, value: null },
      { key: 'd', generation: 1, at: 4, trial: 5, success: true, value: 3 },
    ];
    const report = generationReport(results, history, 1);
    expect(report).toMatchObject({ generation: 1, best: 0.8, diversity: 3 / 4, successRate: 3 / 4 });
    expect(report.mean).toBeCloseTo(0.7, 12);
    expect(report.convergence).toBeCloseTo(0.8 - 0.4, 12);
    expect(generationReport(results, history, 0)).toMatchObject({ best: 0.4, diversity: null, successRate: null, convergence: null });
  });

  it('sees no change without results before the window, and a change when the elite falls', () => {
    const steady = (from: number, to: number, value: (i: number) => number): ResultAt[] =>
      Array.from({ length: to - from }, (_, j) => {
        const i = from + j;
        return { key: `k${i % 4}`, generation: Math.floor(i / 8), at: i, trial: i, success: true, value: value(i) };
      });
    const options = { generation: 3, eliteSize: 1, windowMs: 0, windowGenerations: 2, threshold: 0.2, nowMs: 0 };
    expect(environmentDrift(space, steady(16, 32, () => 1), options)).toMatchObject({ changed: false, baseline: null, since: null });
    // Two generations of a good elite (k0 at 0.1, the others worse), then k0 becomes the worst.
    const before = steady(0, 16, (i) => (i % 4 === 0 ? 0.1 : 0.5 + (i % 4) / 10));
    const after = steady(16, 32, (i) => (i % 4 === 0 ? 5 : 0.5 + (i % 4) / 10));
    const drift = environmentDrift(space, [...before, ...after], options);
    expect(drift.changed).toBe(true);
    expect(drift.since).toBe(16);
    expect(environmentDrift(space, [...before, ...steady(16, 32, (i) => (i % 4 === 0 ? 0.1 : 0.5 + (i % 4) / 10))], options).changed).toBe(false);
  });
});
