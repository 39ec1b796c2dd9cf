import { describe, it, expect } from 'vitest';
import { OrchestraError, type Task } from '../../src/protocol/index.js';
import { newestAttempts, type Run } from '../../src/agents/task-run.js';

const run = (taskId: string, attempt: number, extra: Partial<Run> = {}): Run => ({
  key: `${taskId}#${attempt}`,
  task: { taskId, attempt } as Task,
  startedAtMs: 0,
  startedAtMonotonicMs: 0,
  controller: new AbortController(),
  phase: 'handler',
  released: false,
  slotClaimed: false,
  done: Promise.resolve(),
  ...extra,
});

describe('newestAttempts', () => {
  it('renews the newest attempt of each task and marks older attempts of it as superseded', () => {
    const a1 = run('a', 1);
    const a3 = run('a', 3);
    const b2 = run('b', 2);
    const { newest, superseded } = newestAttempts([a3, b2, a1]);
    expect(newest).toEqual([a3, b2]);
    expect(superseded).toEqual([a1]);
    expect(newestAttempts([a1, a3]).superseded).toEqual([a1]);
  });

  it('leaves out attempts already lost or given back', () => {
    const lost = run('a', 1, { lostReason: new OrchestraError('ORC_REGISTRY_CANCELLED', 'x') });
    const released = run('b', 1, { released: true });
    expect(newestAttempts([lost, released])).toEqual({ newest: [], superseded: [] });
  });
});
