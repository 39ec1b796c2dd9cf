import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../src/protocol/index.js';
import { Progress, SharedStderr, elapsed } from '../../src/cli/progress.js';

function stream(tty: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, isTTY: tty, columns, write: (text: string) => writes.push(text) };
}

describe('Progress', () => {
  it('prints a plain line every two seconds when the stream is not a terminal, leaving out repeats', async () => {
    const clock = new ManualClock();
    const out = stream(false);
    let done = 0;
    const progress = new Progress(() => `${done} done`, out, clock);
    await clock.advance(1_999);
    expect(out.writes).toEqual([]);
    await clock.advance(1);
    done = 3;
    await clock.advance(2_000);
    await clock.advance(2_000);
    progress.stop();
    expect(out.writes).toEqual(['0 done\n', '3 done\n']);
  });

  it('rewrites one line in place on a terminal, cut to its width, and ends it on stop', async () => {
    const clock = new ManualClock();
    const out = stream(true, 11);
    let n = 0;
    const progress = new Progress(() => `step ${++n} of a long run`, out, clock, { ttyIntervalMs: 100 });
    await clock.advance(200);
    progress.stop();
    progress.stop();
    expect(out.writes).toEqual(['\rstep 1 of \x1b[K', '\rstep 2 of \x1b[K', '\rstep 3 of \x1b[K', '\n']);
    await clock.advance(1_000);
    expect(out.writes).toHaveLength(4);
    expect(clock.pendingTimers).toBe(0);
  });

  it('shows elapsed time in tenths of a second', () => {
    expect(elapsed(1_000, 13_340)).toBe('12.3s');
  });
});

describe('SharedStderr', () => {
  it('writes a log line above the live line on a terminal and draws the line again, never gluing the two', async () => {
    const clock = new ManualClock();
    const out = stream(true, 80);
    const stderr = new SharedStderr(out);
    stderr.write('before any progress\n');
    const progress = new Progress(() => 'generation 1 · tests 3/8', stderr, clock, { ttyIntervalMs: 100 });
    await clock.advance(100);
    stderr.write('{"level":40,"msg":"bot restarted"}\n');
    progress.stop();
    stderr.write('after the progress\n');
    expect(out.writes).toEqual([
      'before any progress\n',
      '\rgeneration 1 · tests 3/8\x1b[K',
      '\r\x1b[K{"level":40,"msg":"bot restarted"}\n\rgeneration 1 · tests 3/8\x1b[K',
      '\rgeneration 1 · tests 3/8\x1b[K',
      '\n',
      'after the progress\n',
    ]);
  });

  it('passes lines straight through when the stream is not a terminal', async () => {
    const clock = new ManualClock();
    const out = stream(false);
    const stderr = new SharedStderr(out);
    const progress = new Progress(() => 'tests 1/2', stderr, clock, { plainIntervalMs: 100 });
    await clock.advance(100);
    stderr.write('a log line\n');
    progress.stop();
    expect(out.writes).toEqual(['tests 1/2\n', 'a log line\n']);
  });
});
