import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../src/protocol/index.js';
import { reportDelayMs, sendWithRetries } from '../../src/agents/index.js';
import { until } from './helpers.js';

const policy = { attempts: 4, backoffMs: 100, backoffMaxMs: 250 };

describe('report retries', () => {
  it('double the wait after each refused try, up to the cap', () => {
    expect([1, 2, 3, 4].map((n) => reportDelayMs(n, policy))).toEqual([100, 200, 250, 250]);
  });

  it('send again after each wait on the clock until the store answers', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const retries: number[] = [];
    const sending = sendWithRetries(
      async () => {
        if (++calls < 3) throw new Error('down');
        return 'ok';
      },
      policy,
      clock,
      (_err, failed, delayMs) => retries.push(failed, delayMs),
    );
    await until('the first refusal', () => calls === 1);
    await clock.advance(99);
    expect(calls).toBe(1);
    await clock.advance(1);
    expect(calls).toBe(2);
    await clock.advance(200);
    expect(await sending).toEqual({ value: 'ok', tries: 3 });
    expect(retries).toEqual([1, 100, 2, 200]);
  });

  it('give up with the last error after the allowed tries', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const sending = sendWithRetries(
      async () => {
        throw new Error(`down ${++calls}`);
      },
      policy,
      clock,
      () => undefined,
    ).catch((err: Error) => err.message);
    await clock.advance(100 + 200 + 250);
    expect(await sending).toBe('down 4');
    expect(calls).toBe(4);
  });
});
