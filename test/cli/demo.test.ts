import { describe, it, expect } from 'vitest';
import { validateNewTask } from '../../src/protocol/index.js';
import { demoBatch, MIN_DEMO_TASKS, renderSummary, summarise } from '../../src/cli/demo.js';

describe('demoBatch', () => {
  it.each([MIN_DEMO_TASKS, 30, 200, 1_000])('holds exactly %i valid tasks of every demo kind', (count) => {
    const tasks = demoBatch(count, 'run1').map((t) => validateNewTask(t));
    expect(tasks).toHaveLength(count);
    expect(new Set(tasks.map((t) => t.kind))).toEqual(new Set(['demo.checksum', 'demo.sleep', 'demo.flaky', 'demo.broken', 'demo.report']));
    expect(tasks.filter((t) => t.kind === 'demo.flaky').length).toBeGreaterThanOrEqual(2);
    expect(tasks.filter((t) => t.kind === 'demo.broken')).toHaveLength(1);
  });

  it('mixes priorities 1 to 10 and makes reports depend on checksums registered before them', () => {
    const tasks = demoBatch(200, 'run1');
    expect(new Set(tasks.map((t) => t.priority))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    const seen = new Set<string>();
    for (const t of tasks) {
      for (const dep of t.dependsOn ?? []) expect(seen.has(dep)).toBe(true);
      if (t.taskId) seen.add(t.taskId);
    }
    expect(tasks.filter((t) => t.kind === 'demo.report').every((t) => (t.dependsOn ?? []).length > 0)).toBe(true);
  });

  it('gives each run its own ids and idempotency keys, so running again registers a new batch', () => {
    const keys = (run: string) => demoBatch(50, run).map((t) => t.idempotencyKey);
    const first = keys('aaaa');
    expect(new Set(first).size).toBe(50);
    expect(first.filter((k) => keys('bbbb').includes(k))).toEqual([]);
  });
});

describe('renderSummary', () => {
  it('shows counts, throughput and the failed task with its code', () => {
    const now = Date.UTC(2026, 0, 1);
    const base = { payload: {}, priority: 5, result: null, workerId: null, dependsOn: [], createdAt: now, updatedAt: now, maxAttempts: 3, idempotencyKey: null, runAt: now, leaseExpiresAt: null };
    const summary = summarise(
      'run1',
      [
        { ...base, taskId: 'a', kind: 'demo.flaky', status: 'COMPLETED', error: null, attempt: 2 },
        { ...base, taskId: 'b', kind: 'demo.broken', status: 'FAILED', attempt: 1, error: { code: 'DEMO_BAD_INPUT', message: 'no', retryable: false, attempt: 1 } },
      ],
      2_000,
      false,
    );
    expect(summary).toMatchObject({ tasks: 2, byStatus: { COMPLETED: 1, FAILED: 1 }, seconds: 2, tasksPerSecond: 1, retried: 1 });
    const text = renderSummary(summary);
    expect(text).toContain('2 tasks in 2s, 1 tasks/s');
    expect(text).toContain('COMPLETED 1 · FAILED 1');
    expect(text).toContain('failed: demo.broken b: no [DEMO_BAD_INPUT]');
  });
});
