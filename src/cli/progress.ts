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
  private readonly stream: ProgressStream;
  private readonly shared: SharedStderr | undefined;
  private lastLine = '';
  /** The text of the live line as it stands on the terminal, empty when none is drawn. */
  private drawn = '';
  private stopped = false;

  constructor(
    private readonly render: () => string,
    stream: ProgressStream | SharedStderr,
    private readonly clock: Clock,
    options: ProgressOptions = {},
  ) {
    this.shared = stream instanceof SharedStderr ? stream : undefined;
    this.stream = stream instanceof SharedStderr ? stream.stream : stream;
    this.shared?.attach(this);
    this.tty = Boolean(this.stream.isTTY);
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
    this.drawn = '';
    this.shared?.detach(this);
  }

  /**
   * Writes text that must stand on lines of its own (a log line, a notice):
   * on a terminal the live line is cleared first and drawn again below it,
   * so the two never run together.
   */
  printAbove(text: string): void {
    if (!this.drawn) {
      this.stream.write(text);
      return;
    }
    this.stream.write(`\r\x1b[K${text}${text.endsWith('\n') ? '' : '\n'}\r${this.drawn}\x1b[K`);
  }

  private draw(): void {
    const line = this.render();
    if (this.tty) {
      // Wider than the terminal, the line would wrap and `\r` would no longer return to its start.
      const width = this.stream.columns ? this.stream.columns - 1 : line.length;
      this.drawn = line.slice(0, width);
      this.stream.write(`\r${this.drawn}\x1b[K`);
    } else if (line !== this.lastLine) {
      this.stream.write(`${line}\n`);
    }
    this.lastLine = line;
  }
}

/**
 * Standard error shared by a live progress line and whatever else writes
 * there: the logger and the command's notices write through it, and while a
 * Progress is attached their lines go above the live line instead of being
 * glued to its end.
 */
export class SharedStderr {
  private progress: Progress | undefined;

  constructor(readonly stream: ProgressStream) {}

  write(text: string): boolean {
    if (this.progress) this.progress.printAbove(text);
    else this.stream.write(text);
    return true;
  }

  attach(progress: Progress): void {
    this.progress = progress;
  }

  detach(progress: Progress): void {
    if (this.progress === progress) this.progress = undefined;
  }
}

export const elapsed = (startMs: number, nowMs: number): string => `${((nowMs - startMs) / 1000).toFixed(1)}s`;
