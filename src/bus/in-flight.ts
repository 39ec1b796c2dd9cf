/**
 * Bounds the handlers one subscription runs at once (invariant 6): a reader
 * takes no more messages than it has room for, so a slow handler holds
 * messages back in the inbox instead of piling them up in memory.
 */
export class InFlight {
  private count = 0;
  private readonly waiting = new Set<() => void>();
  /** One reaction for every tracked promise, made once: this runs for every message on both backends. */
  private readonly settled = () => {
    this.count--;
    if (this.waiting.size > 0) {
      for (const wake of this.waiting) wake();
      this.waiting.clear();
    }
    this.onSettled?.();
  };

  constructor(
    readonly capacity: number,
    /** Called each time a tracked promise settles, after its slot is freed. */
    private readonly onSettled?: () => void,
  ) {}

  get room(): number {
    return this.capacity - this.count;
  }

  get size(): number {
    return this.count;
  }

  /** Counts `work` until it settles. The caller handles its outcome; this only counts. */
  track(work: Promise<unknown>): void {
    this.count++;
    work.then(this.settled, this.settled);
  }

  /** Resolves when at least one slot is free; rejects with the signal's reason on abort. */
  async waitForRoom(signal: AbortSignal): Promise<void> {
    while (this.room <= 0) {
      signal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.waiting.delete(wake);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        this.waiting.add(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
