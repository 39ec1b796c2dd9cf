/**
 * A progress display for long runs: one line rewritten in place on a
 * terminal, plain periodic lines otherwise (logs, CI). It writes to standard
 * error so standard output holds only results.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;
  private lastWidth = 0;

  constructor(
    private readonly render: () => string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    options: { ttyIntervalMs?: number; plainIntervalMs?: number } = {},
  ) {
    this.tty = Boolean(stream.isTTY);
    const every = this.tty ? (options.ttyIntervalMs ?? 200) : (options.plainIntervalMs ?? 2000);
    this.timer = setInterval(() => this.draw(), every);
    this.timer.unref();
  }

  /** Draws a last time and leaves the line in place. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
    if (this.tty) this.stream.write('\n');
  }

  private draw(): void {
    const line = this.render();
    if (this.tty) {
      this.stream.write(`\r${line.padEnd(this.lastWidth)}`);
      this.lastWidth = line.length;
    } else {
      this.stream.write(`${line}\n`);
    }
  }
}

export const elapsed = (startMs: number, nowMs: number) => `${((nowMs - startMs) / 1000).toFixed(1)}s`;
