import type { Redis } from 'ioredis';
import { describeError, OrchestraError, type Logger } from '../protocol/index.js';
import { BusClosedError } from './errors.js';
import type { BusConfig } from './config.js';
import { InFlight } from './in-flight.js';
import type { StreamEntry } from './redis-entries.js';
import { afterThisTurn, everyMs, forceReconnectIfStalled, openBlockingConnection, pause, readBackoffMs, readyWithin, realNowMs } from './redis-connection.js';

export interface ReaderDeps {
  key: string;
  /** Names the reader in logs and in Redis's CLIENT LIST. */
  name: string;
  config: BusConfig;
  logger: Logger;
  /** The bus's command connection: acknowledgements, claims and set-up go through it. */
  commands: Redis;
}

/** A blocking read that outlived its BLOCK by `readGraceMs`. */
class StalledReadError extends OrchestraError {
  constructor(ms: number) {
    super('ORC_BUS_UNREACHABLE', `blocking read unanswered after ${ms} ms`, true);
  }
}

/** How often per `readGraceMs` the watchdog looks at the read in progress: a stalled read is given up at most a quarter of the grace late. */
const WATCHDOG_CHECKS_PER_GRACE = 4;

/**
 * One blocking read loop on a connection of its own. It must never stop
 * consuming while the process lives, since a process that looks alive but no
 * longer reads is the worst failure a bus can have. So: every error is caught,
 * the reader repairs what it can (`recover`), backs off briefly and reads
 * again; a read that hangs past its BLOCK (a half-open connection) is abandoned
 * and the connection replaced; a reconnect is noticed (`resume`). Only
 * `stop` ends the loop, and promptly, whatever it is waiting on.
 */
export abstract class BlockingReader {
  protected readonly inFlight: InFlight;
  private conn: Redis | undefined;
  private readonly halt = new AbortController();
  private loop: Promise<void> | undefined;
  private reconnected = false;
  /**
   * Gives up on what the loop awaits now (a read, a resume, a recovery): one
   * slot, taken by each wait and freed when it settles, for `stop` and the
   * watchdog. Not a race against a promise that only `stop` settles: each such
   * race leaves a reaction on that promise holding the read's reply, and the
   * heap grew with every read (14 → 67 MB over 60,000 calls).
   */
  private abandon: ((reason: unknown) => void) | undefined;
  /** When the blocking read in progress was issued, in real time; undefined between reads. */
  private readIssuedAtMs: number | undefined;
  /** Counts reads, so the watchdog's second look knows it is looking at the same one. */
  private reads = 0;
  private stopWatchdog: (() => void) | undefined;

  constructor(protected readonly deps: ReaderDeps) {
    this.inFlight = new InFlight(deps.config.maxInFlight);
  }

  protected get stopped(): boolean {
    return this.halt.signal.aborted;
  }

  /** Set-up that must be done before `start` resolves (a consumer group, a start position). */
  protected abstract prepare(): Promise<void>;
  /**
   * One blocking read of at most `count` entries. It must change no state of
   * the reader: a read given up on (stop, the watchdog) may still be answered,
   * and what it returns then is dropped. What a read that counts changes goes
   * in `accept`.
   */
  protected abstract read(conn: Redis, count: number): Promise<StreamEntry[]>;
  /** Entries a read returned that the loop takes on, before they are handled (a follower's position moves here). */
  protected accept(_entries: StreamEntry[]): void {}
  /** Handles one entry to the end, acknowledging it if that applies. Never rejects. */
  protected abstract handle(entry: StreamEntry): Promise<void>;
  /** Repairs what a failed read reveals (a consumer group lost with a restarted Redis). */
  protected abstract recover(err: unknown): Promise<void>;
  /** Runs after the connection came back, before the next read. */
  protected async resume(): Promise<void> {}

  async start(): Promise<void> {
    this.conn = this.connect();
    try {
      await this.prepare();
    } catch (err) {
      this.halt.abort(err);
      this.conn.disconnect();
      throw err;
    }
    // Stopped while preparing: stop() found no loop and no watchdog to end.
    if (this.stopped) return;
    this.stopWatchdog = this.startWatchdog();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    const reason = new BusClosedError();
    this.halt.abort(reason);
    this.stopWatchdog?.();
    // Whatever the loop waits on, it stops waiting now. Closing the connection
    // also ends a blocked read on the server's side. Entries being handled
    // finish on their own; a handler that never does leaves its entry
    // unacknowledged, for a live replica to claim.
    this.abandon?.(reason);
    this.conn?.disconnect();
    await this.loop;
  }

  /** Handles entries the loop did not read itself (claimed from a dead consumer), within the same bound. */
  protected dispatch(entries: StreamEntry[]): void {
    for (const entry of entries) this.inFlight.track(this.handleSafely(entry));
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.inFlight.waitForRoom(this.halt.signal);
        if (this.reconnected) {
          await this.abandonable(this.resume());
          this.reconnected = false;
        }
        const entries = await this.readWatched(this.inFlight.room);
        if (failures > 0) this.deps.logger.info({ reader: this.deps.name, failures }, 'stream reader resumed');
        failures = 0;
        this.accept(entries);
        this.dispatch(entries);
        // The next read waits until the handlers just started have sent what they send
        // without waiting (a response, a settled request): its socket write would otherwise
        // go first, on every round trip's critical path (~50 µs each way in bench/bus.ts).
        // Reading later only makes the next batch larger.
        if (entries.length > 0) await afterThisTurn();
      } catch (err) {
        if (this.stopped) break;
        failures++;
        const log = { reader: this.deps.name, key: this.deps.key, failures, err: describeError(err).message };
        // The first failure is worth a warning; the rest of an outage is noise.
        if (failures === 1) this.deps.logger.warn(log, 'stream read failed; retrying');
        else this.deps.logger.debug(log, 'stream read failed; retrying');
        // Set-up steps (a group, a position) run on the command connection, which can go half-open too.
        forceReconnectIfStalled(this.deps.commands, err);
        if (err instanceof StalledReadError) this.replaceConnection();
        else await this.abandonable(this.recover(err)).catch((e) => this.recoveryFailed(e));
        await pause(readBackoffMs(failures), this.halt.signal);
      }
    }
  }

  /**
   * One read, under the watchdog's eye from when it can leave: on a new
   * connection (the reader's first, or a replacement) the read waits for the
   * connection's set-up first, within the same limit as a read.
   */
  private async readWatched(count: number): Promise<StreamEntry[]> {
    // Only a connection not yet ready costs the wait: a read on a ready one (every read but a
    // new connection's first) takes no extra turn on the request's critical path.
    if (this.conn!.status !== 'ready') {
      const { blockMs, readGraceMs } = this.deps.config;
      await this.abandonable(readyWithin(this.conn!, blockMs + readGraceMs));
    }
    this.reads++;
    this.readIssuedAtMs = realNowMs();
    try {
      return await this.abandonable(this.read(this.conn!, count));
    } finally {
      this.readIssuedAtMs = undefined;
    }
  }

  /** `work`'s outcome, unless `stop` or the watchdog gives up on it first. */
  private abandonable<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.stopped) {
        work.catch(() => undefined);
        return reject(this.halt.signal.reason);
      }
      this.abandon = reject;
      const free = () => {
        if (this.abandon === reject) this.abandon = undefined;
      };
      work.then(
        (value) => {
          free();
          resolve(value);
        },
        (err: unknown) => {
          free();
          reject(err);
        },
      );
    });
  }

  /**
   * One timer for the reader's life, not one per read: a timer, an
   * AbortController and its DOMException per read cost ~30 µs, twice on every
   * request's critical path. A read still unanswered `readGraceMs` after its
   * BLOCK ran out is on a half-open connection; it is given up, and the loop
   * replaces the connection. Real time on purpose: it watches the network.
   *
   * A read that looks overdue gets a second look after the event loop's next
   * poll for I/O: timers run before it, so a process that fell behind (a busy
   * CPU, a long handler) would otherwise give up a read whose answer is
   * already waiting on the socket, and its connection with it.
   */
  private startWatchdog(): () => void {
    const { blockMs, readGraceMs } = this.deps.config;
    const limitMs = blockMs + readGraceMs;
    const overdue = () => this.readIssuedAtMs !== undefined && realNowMs() - this.readIssuedAtMs > limitMs;
    return everyMs(Math.max(1, Math.floor(readGraceMs / WATCHDOG_CHECKS_PER_GRACE)), () => {
      if (!overdue()) return;
      const read = this.reads;
      setImmediate(() => {
        if (read === this.reads && overdue()) this.abandon?.(new StalledReadError(limitMs));
      });
    });
  }

  private recoveryFailed(err: unknown): void {
    if (this.stopped) return;
    // Recovery runs on the command connection, which can go half-open too.
    forceReconnectIfStalled(this.deps.commands, err);
    this.deps.logger.debug({ reader: this.deps.name, err: describeError(err) }, 'recovery failed');
  }

  private async handleSafely(entry: StreamEntry): Promise<void> {
    try {
      await this.handle(entry);
    } catch (err) {
      this.deps.logger.error({ reader: this.deps.name, id: entry.id, err: describeError(err) }, 'stream entry handling failed');
    }
  }

  private connect(): Redis {
    const conn = openBlockingConnection(this.deps.commands, this.deps.name, this.deps.logger);
    let readies = 0;
    conn.on('ready', () => {
      if (readies++ > 0) this.reconnected = true;
    });
    return conn;
  }

  private replaceConnection(): void {
    const old = this.conn;
    this.conn = this.connect();
    // The new connection's first ready is a reconnect as far as the stream position goes.
    this.reconnected = true;
    old?.disconnect();
  }
}
