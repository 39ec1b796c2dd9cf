import { describe, it, expect } from 'vitest';
import { commonReasons, FailureWatch, noSuccessError } from '../../src/cli/outcomes.js';

const failed = (reason: string) => ({ success: false, reason });
const NOT_FOUND = 'exited with code 127; stderr: sh: 1: nope: not found';

describe('commonReasons', () => {
  it('lists the most common reasons first with their counts, and sums up the rest', () => {
    const reasons = ['a', 'b', 'a', 'c', 'a', 'b', 'd', 'e'];
    expect(commonReasons(reasons)).toBe('3× a · 2× b · 1× c · 2 more for other reasons');
  });

  it('makes a run without a success an error naming how many failed and why', () => {
    const err = noSuccessError('evaluation', ['exited with code 3', 'exited with code 3', 'timed out after 1500 ms']);
    expect(err.code).toBe('ORC_CLI_NO_SUCCESS');
    expect(err.message).toBe('no evaluation succeeded (3 of 3 failed): 2× exited with code 3 · 1× timed out after 1500 ms');
  });
});

describe('FailureWatch', () => {
  const settled = async (watch: FailureWatch) => Promise.race([watch.hopeless, new Promise((r) => setImmediate(() => r('pending')))]);

  it('calls an evaluator hopeless once its first evaluations all failed for one lasting reason', async () => {
    const watch = new FailureWatch(3);
    watch.record(failed(NOT_FOUND));
    watch.record(failed(NOT_FOUND));
    expect(await settled(watch)).toBe('pending');
    watch.record(failed(NOT_FOUND));
    expect(await settled(watch)).toEqual({ kind: 'the command was not found (exit 127)', example: NOT_FOUND, failed: 3 });
  });

  it('treats differing output that is not JSON as one lasting reason', async () => {
    const watch = new FailureWatch(3);
    for (const text of ['hi', 'oops', 'ready']) watch.record(failed(`output is not JSON: Unexpected token in "${text}"`));
    expect(await settled(watch)).toMatchObject({ kind: 'its output is not JSON' });
  });

  it('keeps going on failures that another try might change, on mixed reasons, and after any success', async () => {
    const transient = new FailureWatch(3);
    for (let i = 0; i < 5; i++) transient.record(failed('exited with code 3; stderr: sensor offline'));
    const mixed = new FailureWatch(3);
    for (const r of [NOT_FOUND, 'timed out after 1500 ms', NOT_FOUND, NOT_FOUND]) mixed.record(failed(r));
    const lucky = new FailureWatch(3);
    lucky.record({ success: true, reason: null });
    for (let i = 0; i < 5; i++) lucky.record(failed(NOT_FOUND));
    for (const watch of [transient, mixed, lucky]) expect(await settled(watch)).toBe('pending');
  });
});
