import { describe, it, expect } from 'vitest';
import { ManualClock, createRng, randomSeed, systemClock } from '../../src/protocol/index.js';

const T0 = Date.UTC(2026, 0, 1);

describe('ManualClock', () => {
  it('starts at the time it is given, and moves only when advanced', async () => {
    const clock = new ManualClock(T0);
    expect(clock.now()).toBe(T0);
    await clock.advance(1_500);
    expect(clock.now()).toBe(T0 + 1_500);
    expect(new ManualClock().now()).toBe(Date.UTC(2026, 0, 1));
  });

  it('fires timers in time order, whatever order they were set in', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('c@30'), 30);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('b@20'), 20);
    await clock.advance(15);
    expect(fired).toEqual(['a@10']);
    await clock.advance(15);
    expect(fired).toEqual(['a@10', 'b@20', 'c@30']);
  });

  it('fires timers due at the same time in the order they were created, even when set at different times', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('first'), 20);
    clock.setTimeout(() => fired.push('second'), 20);
    await clock.advance(10);
    clock.setTimeout(() => fired.push('third'), 10);
    clock.setTimeout(() => fired.push('early'), 5);
    await clock.advance(10);
    expect(fired).toEqual(['early', 'first', 'second', 'third']);
  });

  it('shows each timer the time it was due, and ends at the target time', async () => {
    const clock = new ManualClock(1_000);
    const seenAt: number[] = [];
    clock.setTimeout(() => seenAt.push(clock.now()), 10);
    clock.setTimeout(() => seenAt.push(clock.now()), 25);
    await clock.advance(100);
    expect(seenAt).toEqual([1_010, 1_025]);
    expect(clock.now()).toBe(1_100);
  });

  it('fires a timer due exactly at the target, and one set for a negative delay on the next advance', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('at target'), 50);
    clock.setTimeout(() => fired.push('past due'), -5);
    await clock.advance(0);
    expect(fired).toEqual(['past due']);
    await clock.advance(50);
    expect(fired).toEqual(['past due', 'at target']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs the promise chain a timer starts before the next timer fires, and timers that chain sets within the advance', async () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    clock.setTimeout(async () => {
      await Promise.resolve();
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      seen.push('chain@10');
      clock.setTimeout(() => seen.push('follow-up@15'), 5);
    }, 10);
    clock.setTimeout(() => seen.push('other@12'), 12);
    await clock.advance(20);
    expect(seen).toEqual(['chain@10', 'other@12', 'follow-up@15']);
  });

  it('lets code awaiting sleep in a loop see every tick of one long advance', async () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 5; i++) {
        await clock.sleep(100);
        ticks.push(clock.now());
      }
    })();
    await clock.advance(1_000);
    await loop;
    expect(ticks).toEqual([100, 200, 300, 400, 500]);
  });

  it('does not fire a cleared timer, and clearing twice, late or with nothing is harmless', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const cancelled = clock.setTimeout(() => fired.push('cancelled'), 5);
    const kept = clock.setTimeout(() => fired.push('kept'), 5);
    clock.clearTimeout(cancelled);
    clock.clearTimeout(cancelled);
    clock.clearTimeout(undefined);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(10);
    clock.clearTimeout(kept);
    expect(fired).toEqual(['kept']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets a timer clear a later one before it fires', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const later = clock.setTimeout(() => fired.push('later'), 20);
    clock.setTimeout(() => {
      fired.push('first');
      clock.clearTimeout(later);
    }, 10);
    await clock.advance(30);
    expect(fired).toEqual(['first']);
  });

  it('resolves sleep only once its time has passed on the clock', async () => {
    const clock = new ManualClock(0);
    let woke = false;
    const sleeping = clock.sleep(100).then(() => (woke = true));
    await clock.advance(99);
    expect(woke).toBe(false);
    await clock.advance(1);
    await sleeping;
    expect(woke).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects sleep with the abort reason and removes its timer', async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    const reason = new Error('stop');
    const sleeping = clock.sleep(1_000, controller.signal);
    expect(clock.pendingTimers).toBe(1);
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects sleep at once when the signal is already aborted, setting no timer', async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    controller.abort(new Error('already'));
    await expect(clock.sleep(10, controller.signal)).rejects.toThrow('already');
    expect(clock.pendingTimers).toBe(0);
  });

  it('ignores an abort that comes after sleep has resolved', async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    const sleeping = clock.sleep(10, controller.signal);
    await clock.advance(10);
    await expect(sleeping).resolves.toBeUndefined();
    controller.abort(new Error('late'));
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('systemClock', () => {
  it('rejects sleep at once on an already aborted signal, and stops sleeping on abort', async () => {
    const done = new AbortController();
    done.abort(new Error('no wait'));
    await expect(systemClock.sleep(60_000, done.signal)).rejects.toThrow('no wait');
    const later = new AbortController();
    const sleeping = systemClock.sleep(60_000, later.signal);
    later.abort(new Error('stopped'));
    await expect(sleeping).rejects.toThrow('stopped');
  });
});

describe('createRng', () => {
  it('gives the same sequence for the same seed', () => {
    const a = createRng(42);
    const b = createRng(42);
    const xs = Array.from({ length: 1_000 }, () => a.next());
    expect(Array.from({ length: 1_000 }, () => b.next())).toEqual(xs);
  });

  it('gives values in [0, 1)', () => {
    for (const seed of [0, 1, 42, 0xffffffff]) {
      const rng = createRng(seed);
      for (let i = 0; i < 10_000; i++) {
        const x = rng.next();
        expect(x >= 0 && x < 1).toBe(true);
      }
    }
  });

  it('gives different sequences for different seeds, neighbouring seeds included', () => {
    const first = (seed: number) => Array.from({ length: 4 }, createRng(seed).next);
    const starts = [0, 1, 2, 3, 42, 43].map((s) => first(s).join(','));
    expect(new Set(starts).size).toBe(starts.length);
  });

  it('spreads values evenly enough for jitter: each tenth of [0, 1) gets 8–12% of 10,000 draws', () => {
    const rng = createRng(2026);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(rng.next() * 10)]!++;
    for (const count of buckets) {
      expect(count).toBeGreaterThan(800);
      expect(count).toBeLessThan(1_200);
    }
  });

  it('randomSeed gives an unsigned 32-bit integer for when the user gave no seed', () => {
    const seed = randomSeed();
    expect(Number.isInteger(seed)).toBe(true);
    expect(seed).toBeGreaterThanOrEqual(0);
    expect(seed).toBeLessThan(2 ** 32);
  });
});
