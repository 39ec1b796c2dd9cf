import type { Clock, TimerHandle } from '../protocol/index.js';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** How often the live line is redrawn on a terminal. */
  ttyIntervalMs?: number;
  /** How often a plain line is printed when the stream is not a terminal (logs, CI). */
  plainIntervalMs?: number;
}

/**
 * A progress display for long runs: one line rewritten in place on a
 * terminal, plain periodic lines otherwise. A plain line identical to the one
 * before is left out, so an idle worker does not fill a log with repeats.
 * Callers give it standard error: standard output holds only results, which
 * scripts read (`--json`).
 */
export class Progress {
  private timer: TimerHandle | undefined;
  private readonly tty: boolean;
  private lastLine = '';
  private stopped = false;

  constructor(
    private readonly render: () => string,
    private readonly stream: ProgressStream,
    private readonly clock: Clock,
    options: ProgressOptions = {},
  ) {
    this.tty = Boolean(stream.isTTY);
    const every = this.tty ? (options.ttyIntervalMs ?? 200) : (options.plainIntervalMs ?? 2000);
    const tick = () => {
      this.draw();
      this.timer = this.clock.setTimeout(tick, every);
    };
    this.timer = this.clock.setTimeout(tick, every);
  }

  /** Draws a last time and leaves the line in place. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.draw();
    if (this.tty) this.stream.write('\n');
  }

  private draw(): void {
    const line = this.render();
    if (this.tty) {
      // Wider than the terminal, the line would wrap and `\r` would no longer return to its start.
      const width = this.stream.columns ? this.stream.columns - 1 : line.length;
      this.stream.write(`\r${line.slice(0, width)}\x1b[K`);
    } else if (line !== this.lastLine) {
      this.stream.write(`${line}\n`);
    }
    this.lastLine = line;
  }
}

export const elapsed = (startMs: number, nowMs: number): string => `${((nowMs - startMs) / 1000).toFixed(1)}s`;
