import type { Redis } from 'ioredis';
import { describeError, type Logger } from '../protocol/index.js';
import type { BusConfig } from './config.js';
import { InFlight } from './in-flight.js';
import type { StreamEntry } from './redis-entries.js';
import { forceReconnectIfStalled, openBlockingConnection, pause, readBackoffMs } from './redis-connection.js';

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
class StalledReadError extends Error {
  constructor(ms: number) {
    super(`blocking read unanswered after ${ms} ms`);
  }
}

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
  private readonly halted: Promise<never>;
  private loop: Promise<void> | undefined;
  private reconnected = false;

  constructor(protected readonly deps: ReaderDeps) {
    this.inFlight = new InFlight(deps.config.maxInFlight);
    this.halted = new Promise<never>((_, reject) => {
      this.halt.signal.addEventListener('abort', () => reject(this.halt.signal.reason), { once: true });
    });
    this.halted.catch(() => undefined);
  }

  protected get stopped(): boolean {
    return this.halt.signal.aborted;
  }

  /** Set-up that must be done before `start` resolves (a consumer group, a start position). */
  protected abstract prepare(): Promise<void>;
  /** One blocking read of at most `count` entries. */
  protected abstract read(conn: Redis, count: number): Promise<StreamEntry[]>;
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
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.halt.abort(new Error('reader stopped'));
    // Closing the connection ends a blocked read at once. Entries being handled
    // finish on their own; a handler that never does leaves its entry unacknowledged,
    // for a live replica to claim.
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
          await this.untilStopped(this.resume());
          this.reconnected = false;
        }
        const entries = await this.readWatched(this.inFlight.room);
        if (failures > 0) this.deps.logger.info({ reader: this.deps.name, failures }, 'stream reader resumed');
        failures = 0;
        this.dispatch(entries);
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
        else await this.untilStopped(this.recover(err)).catch((e) => this.recoveryFailed(e));
        await pause(readBackoffMs(failures), this.halt.signal);
      }
    }
  }

  /** A read raced against a watchdog (real time: it watches the network) and against `stop`. */
  private async readWatched(count: number): Promise<StreamEntry[]> {
    const { blockMs, readGraceMs } = this.deps.config;
    const limitMs = blockMs + readGraceMs;
    const settled = new AbortController();
    const watchdog = pause(limitMs, settled.signal).then(() => {
      if (!settled.signal.aborted) throw new StalledReadError(limitMs);
      return [] as StreamEntry[];
    });
    try {
      return await Promise.race([this.read(this.conn!, count), watchdog, this.halted]);
    } finally {
      settled.abort();
    }
  }

  private untilStopped<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.halted]);
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
