import { describe, it, expect } from 'vitest';
import { ManualClock, createRng } from '../../src/protocol/index.js';

describe('ManualClock', () => {
  it('fires timers in time order, ties in the order they were set, only when advanced', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('c@20'), 20);
    const cancelled = clock.setTimeout(() => fired.push('never'), 5);
    clock.clearTimeout(cancelled);
    await clock.advance(15);
    expect(fired).toEqual(['a@10']);
    await clock.advance(5);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
    expect(clock.now()).toBe(20);
  });

  it('lets promise chains started by a timer run before the next timer', async () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    clock.setTimeout(async () => {
      await Promise.resolve();
      seen.push('chain');
      clock.setTimeout(() => seen.push('follow-up'), 5);
    }, 10);
    await clock.advance(15);
    expect(seen).toEqual(['chain', 'follow-up']);
  });

  it('sleeps on its own time and stops sleeping on abort', async () => {
    const clock = new ManualClock(0);
    let woke = false;
    const sleeping = clock.sleep(100).then(() => (woke = true));
    await clock.advance(99);
    expect(woke).toBe(false);
    await clock.advance(1);
    await sleeping;
    const controller = new AbortController();
    const aborted = clock.sleep(1_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('seeded random source', () => {
  it('gives the same sequence for the same seed, in [0, 1)', () => {
    const a = createRng(42);
    const b = createRng(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(createRng(43).next()).not.toBe(xs[0]);
  });
});
