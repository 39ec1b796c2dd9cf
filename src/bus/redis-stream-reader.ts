import type { Redis } from 'ioredis';
import { describeError, type Clock, type Logger } from '../protocol/index.js';
import type { BusConfig } from './config.js';
import { fieldsToObject } from './redis-dead-letters.js';

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

export type ReadMode =
  /** Shared through a consumer group: each entry to one consumer, acknowledged when handled. */
  | { kind: 'group'; group: string; consumer: string }
  /** Every reader sees every entry after `from` (default: what is newest when it starts). */
  | { kind: 'fanout'; from?: string };

export interface StreamReaderDeps {
  key: string;
  mode: ReadMode;
  connection: () => Redis;
  config: BusConfig;
  clock: Clock;
  logger: Logger;
  /** Handles one entry; true means done (acknowledge), false leaves it for redelivery. */
  handle(entry: StreamEntry): Promise<boolean>;
  /** Called for an entry delivered `maxDeliveries` times without being acknowledged. */
  deadLetter(entry: StreamEntry, reason: string): Promise<void>;
}

const BATCH = 100;
/** Past this much longer than a blocking read should take, the connection is presumed half-open. */
const WATCHDOG_MARGIN_MS = 10_000;

/**
 * One blocking read loop on its own connection. It must never stop consuming
 * while the process lives: every error is logged and the loop goes on; a
 * consumer group lost with a restarted Redis is created again; a read that
 * hangs past the watchdog forces a reconnect.
 */
export class StreamReader {
  private conn: Redis | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private lastId = '$';
  private lastClaimAt = Number.NEGATIVE_INFINITY;
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly deps: StreamReaderDeps) {}

  async start(): Promise<void> {
    this.conn = this.deps.connection();
    if (this.deps.mode.kind === 'group') {
      await this.ensureGroup();
    } else {
      // Remember where "now" is, so a reconnect resumes from there instead of from "new only".
      this.lastId = this.deps.mode.from ?? (await this.newestId());
    }
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Entries being handled are left unacknowledged: a live replica gets them after the idle time.
    this.conn?.disconnect();
    await this.loop?.catch(() => undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.deps.mode.kind === 'group' && this.deps.clock.now() - this.lastClaimAt >= this.deps.config.claimIntervalMs) {
          this.lastClaimAt = this.deps.clock.now();
          await this.claimStale();
        }
        const entries = await this.read();
        failures = 0;
        if (entries.length) await this.process(entries);
      } catch (err) {
        if (this.stopped) break;
        failures++;
        const { message } = describeError(err);
        if (/NOGROUP/.test(message)) {
          // Redis lost the stream and its group (a restart without persistence): make them again.
          this.deps.logger.warn({ key: this.deps.key }, 'consumer group missing; creating it again');
          await this.ensureGroup().catch(() => undefined);
          continue;
        }
        if (/timed out/i.test(message)) this.conn?.disconnect(true);
        this.deps.logger.warn({ key: this.deps.key, err: message, failures }, 'stream read failed; retrying');
        await realDelay(Math.min(50 * 2 ** Math.min(failures, 5), 1000));
      }
    }
  }

  private async read(): Promise<StreamEntry[]> {
    const { mode, key, config } = this.deps;
    const conn = this.conn!;
    const reply =
      mode.kind === 'group'
        ? await conn.xreadgroup('GROUP', mode.group, mode.consumer, 'COUNT', BATCH, 'BLOCK', config.blockMs, 'STREAMS', key, '>')
        : await conn.xread('COUNT', BATCH, 'BLOCK', config.blockMs, 'STREAMS', key, this.lastId);
    if (!reply) return [];
    const [, entries] = (reply as [string, [string, string[]][]][])[0]!;
    return entries.map(([id, fields]) => ({ id, fields: fieldsToObject(fields) }));
  }

  private async process(entries: StreamEntry[]): Promise<void> {
    const { mode, key } = this.deps;
    if (mode.kind === 'fanout') this.lastId = entries[entries.length - 1]!.id;
    const done = await Promise.all(
      entries.map(async (entry) => {
        try {
          return (await this.deps.handle(entry)) ? entry.id : null;
        } catch (err) {
          this.deps.logger.error({ key, id: entry.id, err: describeError(err) }, 'stream entry handling failed');
          return null;
        }
      }),
    );
    const ack = done.filter((id): id is string => id !== null);
    if (mode.kind === 'group' && ack.length && !this.stopped) await this.conn!.xack(key, mode.group, ...ack);
  }

  /**
   * Takes over entries another consumer (a crashed replica) left unacknowledged
   * for longer than `claimIdleMs`; dead-letters those delivered too many times.
   */
  private async claimStale(): Promise<void> {
    const { mode, key, config } = this.deps;
    if (mode.kind !== 'group') return;
    const conn = this.conn!;
    const pending = (await conn.xpending(key, mode.group, 'IDLE', config.claimIdleMs, '-', '+', BATCH)) as [string, string, number, number][];
    if (!pending.length) return;
    const exhausted = pending.filter(([, , , deliveries]) => deliveries >= config.maxDeliveries).map(([id]) => id);
    const retry = pending.filter(([, , , deliveries]) => deliveries < config.maxDeliveries).map(([id]) => id);
    for (const id of exhausted) {
      const [entry] = await conn.xrange(key, id, id);
      if (entry) {
        await this.deps.deadLetter({ id, fields: fieldsToObject(entry[1]) }, `delivered ${config.maxDeliveries} times without being acknowledged`);
      }
      await conn.xack(key, mode.group, id);
    }
    if (!retry.length) return;
    const claimed = (await conn.xclaim(key, mode.group, mode.consumer, config.claimIdleMs, ...retry)) as [string, string[] | null][];
    const entries = claimed.filter(([, fields]) => fields).map(([id, fields]) => ({ id, fields: fieldsToObject(fields!) }));
    if (entries.length) {
      this.deps.logger.info({ key, count: entries.length }, 'claimed messages a silent consumer left unacknowledged');
      await this.process(entries);
    }
  }

  private async ensureGroup(): Promise<void> {
    const { mode, key } = this.deps;
    if (mode.kind !== 'group') return;
    try {
      await this.conn!.xgroup('CREATE', key, mode.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test(describeError(err).message)) throw err;
    }
  }

  private async newestId(): Promise<string> {
    const [newest] = await this.conn!.xrevrange(this.deps.key, '+', '-', 'COUNT', 1);
    return newest?.[0] ?? '0-0';
  }
}

/** Backoff between failed reads is about the network, not the system's clock. */
const realDelay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export { WATCHDOG_MARGIN_MS };
