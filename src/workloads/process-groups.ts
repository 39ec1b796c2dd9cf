import { systemClock, type Clock } from '../protocol/index.js';

/** Between polls for the groups to be gone, while they get their grace. */
const POLL_MS = 50;

/**
 * The process groups of the external commands running in this process.
 * Commands run detached, in groups of their own, so a terminal's Ctrl-C does
 * not reach them and the death of this process does not end them: whatever
 * path leads out of the process must end them here, or they run on as orphans
 * while their tasks run again elsewhere.
 */
export class ProcessGroups {
  private readonly live = new Set<number>();

  add(pgid: number): void {
    this.live.add(pgid);
  }

  delete(pgid: number): void {
    this.live.delete(pgid);
  }

  get size(): number {
    return this.live.size;
  }

  /**
   * SIGTERM to every group, then SIGKILL to the ones still there after
   * `graceMs`: a command may clean up, but not hold the exit up. Resolves
   * early once all are gone.
   */
  async terminate(graceMs: number, clock: Clock = systemClock): Promise<void> {
    this.send('SIGTERM');
    for (let waited = 0; waited < graceMs && this.anyAlive(); waited += POLL_MS) await clock.sleep(POLL_MS);
    this.killNow();
  }

  /** SIGKILL to every group, synchronously: the last thing a process does on its way out. */
  killNow(): void {
    this.send('SIGKILL');
    this.live.clear();
  }

  private send(signal: NodeJS.Signals): void {
    for (const pgid of this.live) {
      try {
        process.kill(-pgid, signal);
      } catch {
        this.live.delete(pgid); // gone already
      }
    }
  }

  private anyAlive(): boolean {
    for (const pgid of this.live) {
      try {
        process.kill(-pgid, 0);
        return true;
      } catch {
        this.live.delete(pgid);
      }
    }
    return false;
  }
}

/** This process's groups: every command runner registers here unless given its own. */
export const childProcessGroups = new ProcessGroups();
