import { describeError, type Clock, type Logger, type TimerHandle } from '../protocol/index.js';
import type { TaskRegistry } from '../registry/index.js';

interface Waiter {
  kind: string;
  wake: () => void;
}

/**
 * Long-polling bots wait here for work of their kind. One store query every
 * `intervalMs` asks which of the waited-for kinds have a runnable task, for
 * all waiting bots at once: ten thousand idle bots cost one statement per
 * interval, not ten thousand claims. A woken poll then claims for itself.
 */
export class BotPolls {
  private readonly waiters = new Set<Waiter>();
  private timer: TimerHandle | undefined;
  private isClosed = false;

  constructor(
    private readonly deps: { registry: TaskRegistry; clock: Clock; logger: Logger },
    private readonly intervalMs: number,
  ) {}

  get waiting(): number {
    return this.waiters.size;
  }

  /** The server is closing: polls are answered at once, with what they have. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Resolves when a task of `kind` may be runnable, after `waitMs`, when
   * `signal` fires (the client went away) or the server closes, whichever
   * comes first.
   */
  wait(kind: string, waitMs: number, signal: AbortSignal): Promise<void> {
    if (this.isClosed || signal.aborted || waitMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        kind,
        wake: () => {
          if (!this.waiters.delete(waiter)) return;
          this.deps.clock.clearTimeout(deadline);
          signal.removeEventListener('abort', waiter.wake);
          resolve();
        },
      };
      const deadline = this.deps.clock.setTimeout(waiter.wake, waitMs);
      signal.addEventListener('abort', waiter.wake, { once: true });
      this.waiters.add(waiter);
      this.schedule();
    });
  }

  close(): void {
    this.isClosed = true;
    this.deps.clock.clearTimeout(this.timer);
    for (const w of [...this.waiters]) w.wake();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.isClosed) return;
    this.timer = this.deps.clock.setTimeout(() => void this.check(), this.intervalMs);
  }

  private async check(): Promise<void> {
    const waiting = [...this.waiters];
    try {
      const kinds = [...new Set(waiting.map((w) => w.kind))];
      const runnable = await this.deps.registry.runnableKinds(kinds);
      for (const w of waiting) if (runnable.has(w.kind)) w.wake();
    } catch (err) {
      // Waiting polls end at their deadline and claim then; a store that is back answers them.
      this.deps.logger.warn({ err: describeError(err) }, 'bot polls: checking for work failed');
    } finally {
      this.timer = undefined;
      if (this.waiters.size > 0) this.schedule();
    }
  }
}
