import os from 'node:os';
import { describeError, OrchestraError, type Clock, type Logger, type TimerHandle } from '../protocol/index.js';
import {
  acquireStudyDriver,
  holdsStudyDriver,
  insertResultsFenced,
  releaseStudyDriver,
  renewStudyDriver,
  type Db,
  type DriverLease,
  type Queryable,
  type StudyDriverRow,
  type TestResultRow,
} from '../store/index.js';

export class StudyLeaseLostError extends OrchestraError {
  constructor(readonly studyId: string, readonly epoch: number) {
    super('ORC_AGENT_STUDY_LEASE_LOST', `study ${studyId}: another process took over driving it (this one held epoch ${epoch})`);
  }
}

/** The generation loop of a study stopped on an error; what was stored stays, and the study resumes when driven again. */
export class StudyFailedError extends OrchestraError {
  constructor(readonly studyId: string, cause: unknown) {
    const { code, message } = describeError(cause);
    super('ORC_AGENT_STUDY_FAILED', `study ${studyId} stopped on an error: ${message}${code ? ` [${code}]` : ''}; what it stored is kept, and it resumes when started again`, false, { cause });
  }
}

export interface StudyDriverDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  studyId: string;
  /** Unique to the agent instance that drives. */
  ownerId: string;
  /** How the processes standing by name this one. Default: `process <pid> on <host>`. */
  holder?: string;
  leaseMs: number;
  /** How often a process standing by looks again, besides when the lease would expire: a driver that stops cleanly releases it early. */
  pollMs: number;
  /** Called when a renewal finds the lease taken over. */
  onLost?: () => void;
}

/**
 * The lease on driving one study (see migration 0007): acquired, or waited
 * for as a standby, renewed on the clock every third of its length, released
 * on a clean stop, and checked inside the transaction of every write.
 */
export class StudyDriver {
  private lease: DriverLease | undefined;
  private timer: TimerHandle | undefined;
  private lostLease = false;
  private readonly holder: string;

  constructor(private readonly deps: StudyDriverDeps) {
    this.holder = deps.holder ?? `process ${process.pid} on ${os.hostname()}`;
  }

  /** True once a renewal or a write found that another process took over. */
  get lost(): boolean {
    return this.lostLease;
  }

  get epoch(): number | undefined {
    return this.lease?.epoch;
  }

  /**
   * Takes the lease, waiting as a standby while another holds it: `onStandby`
   * hears of each new holder. False when `signal` ends the wait.
   */
  async acquire(signal: AbortSignal, onStandby: (holder: StudyDriverRow) => void = () => undefined): Promise<boolean> {
    const { db, clock, studyId, ownerId, leaseMs } = this.deps;
    let told: string | undefined;
    let seizeEpoch: number | undefined;
    while (!signal.aborted) {
      let claim: Awaited<ReturnType<typeof acquireStudyDriver>>;
      try {
        claim = await acquireStudyDriver(db, { studyId, ownerId, holder: this.holder, pid: process.pid, nowMs: clock.now(), leaseMs, ...(seizeEpoch !== undefined ? { seizeEpoch } : {}) });
      } catch (err) {
        // A standby outlives a database that is briefly away: it looks again at its next poll.
        this.deps.logger.warn({ err: describeError(err) }, 'could not ask for the study lease; trying again');
        await clock.sleep(this.deps.pollMs, signal).catch(() => undefined);
        continue;
      }
      if (claim.acquired) {
        this.lease = { studyId, ownerId, epoch: claim.driver.epoch };
        this.lostLease = false;
        this.scheduleRenewal();
        return true;
      }
      const held = claim.driver;
      // The embedded store is one process's (its data folder is locked), so a lease
      // there naming another pid was left by a process that is gone: no need to wait it out.
      if (db.backend === 'pglite' && held.pid !== process.pid) {
        seizeEpoch = held.epoch;
        continue;
      }
      if (told !== `${held.ownerId}/${held.epoch}`) {
        told = `${held.ownerId}/${held.epoch}`;
        this.deps.logger.info({ studyId, holder: held.holder, expiresAt: held.expiresAt }, 'standing by: another process drives the study');
        onStandby(held);
      }
      await clock.sleep(Math.max(1, Math.min(held.expiresAt - clock.now(), this.deps.pollMs)), signal).catch(() => undefined);
    }
    return false;
  }

  /** Inside a write's transaction, first: throws unless this instance still holds the lease, and keeps a takeover out until commit. */
  async fence(tx: Queryable): Promise<void> {
    const lease = this.lease;
    if (!lease || this.lostLease || !(await holdsStudyDriver(tx, lease))) throw this.lose();
  }

  /** Runs `write` in one transaction behind the fence. */
  fenced<T>(write: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.deps.db.transaction(async (tx) => {
      await this.fence(tx);
      return write(tx);
    });
  }

  /** Records results behind the fence, in one statement (see insertResultsFenced); returns the task ids recorded now. */
  async recordResults(rows: readonly TestResultRow[]): Promise<string[]> {
    const lease = this.lease;
    if (!lease || this.lostLease) throw this.lose();
    const { held, recorded } = await insertResultsFenced(this.deps.db, lease, rows);
    if (!held) throw this.lose();
    return recorded;
  }

  /** Ends the lease now, so a process standing by takes over at once. */
  async release(): Promise<void> {
    this.deps.clock.clearTimeout(this.timer);
    const lease = this.lease;
    this.lease = undefined;
    if (lease && !this.lostLease) await releaseStudyDriver(this.deps.db, lease, this.deps.clock.now());
  }

  private lose(): StudyLeaseLostError {
    const err = new StudyLeaseLostError(this.deps.studyId, this.lease?.epoch ?? 0);
    if (!this.lostLease) {
      this.lostLease = true;
      this.deps.clock.clearTimeout(this.timer);
      this.deps.onLost?.();
    }
    return err;
  }

  private scheduleRenewal(): void {
    this.timer = this.deps.clock.setTimeout(() => void this.renew(), Math.max(1, Math.floor(this.deps.leaseMs / 3)));
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    if (!lease || this.lostLease) return;
    try {
      if (!(await renewStudyDriver(this.deps.db, lease, this.deps.clock.now(), this.deps.leaseMs))) {
        this.deps.logger.warn({ studyId: lease.studyId, epoch: lease.epoch }, 'another process took over driving the study');
        this.lose();
        return;
      }
    } catch (err) {
      // The fence, not the renewal, keeps two drivers apart: a failed renewal is tried again.
      this.deps.logger.warn({ err: describeError(err) }, 'driver lease not renewed');
    }
    if (this.lease === lease && !this.lostLease) this.scheduleRenewal();
  }
}
