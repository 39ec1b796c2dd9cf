import type { Redis } from 'ioredis';
import { describeError, type Clock, type TimerHandle } from '../protocol/index.js';
import { BlockingReader, type ReaderDeps } from './redis-reader.js';
import { entriesOf, entriesOfReadReply, fieldValue, type StreamEntry } from './redis-entries.js';
import { INBOX_GROUP, MESSAGE_FIELD } from './redis-keys.js';
import { afterThisTurn, atMost, inOneWrite, forceReconnectIfStalled, isBusyGroupError, isNoGroupError } from './redis-connection.js';
import { xackDelete } from './redis-scripts.js';

export interface InboxReaderDeps extends ReaderDeps {
  clock: Clock;
  /** This subscription's name in the consumer group. */
  consumer: string;
  /** Handles one entry; resolving means done, and the entry is acknowledged. */
  handle(entry: StreamEntry): Promise<void>;
  /** Records an entry given up on after `maxDeliveries` deliveries. */
  giveUp(raw: string, reason: string): Promise<void>;
}

/** A consumer with nothing pending and silent this long is a replica that is gone; its name is removed. */
const RETIRE_CONSUMER_IDLE_MS = 60 * 60 * 1000;

/**
 * Reads an inbox through the consumer group, so replicas share it: each entry
 * goes to one of them and is acknowledged (and deleted) only once handled.
 * Every `claimIntervalMs` on the clock it also takes over entries another
 * consumer left unacknowledged for `claimIdleMs` (a crashed replica), and gives
 * up on those delivered `maxDeliveries` times, which would otherwise loop for ever.
 */
export class InboxReader extends BlockingReader {
  /**
   * Entries this subscription is handling now: never claimed back from itself.
   * A plain object, not a Set: a Set whose entries come and go keeps its
   * discarded tables linked, and what they held outlives young-generation
   * collections (see PendingRequests).
   */
  private readonly handling = new EntrySet();
  private claimTimer: TimerHandle | undefined;
  /** Entries handled this turn, acknowledged together once it ends. */
  private toAcknowledge: string[] = [];
  private nextAcknowledgement: Promise<void> | undefined;
  /** Acknowledgements sent and not answered yet. */
  private readonly acknowledging = new Set<Promise<void>>();

  constructor(private readonly inbox: InboxReaderDeps) {
    super(inbox);
  }

  protected async prepare(): Promise<void> {
    await this.ensureGroup();
    this.scheduleClaim();
  }

  override async stop(): Promise<void> {
    this.inbox.clock.clearTimeout(this.claimTimer);
    await super.stop();
    // Handlers that finished just before have their acknowledgements on the way; only a
    // consumer with nothing pending retires, so let them land first.
    await atMost(1000, Promise.all([this.nextAcknowledgement, ...this.acknowledging]));
    await atMost(1000, this.retireSelf());
  }

  protected async read(conn: Redis, count: number): Promise<StreamEntry[]> {
    const { key, consumer, config } = this.inbox;
    const reply = await conn.xreadgroup('GROUP', INBOX_GROUP, consumer, 'COUNT', count, 'BLOCK', config.blockMs, 'STREAMS', key, '>');
    return entriesOfReadReply(reply);
  }

  protected async handle(entry: StreamEntry): Promise<void> {
    this.handling.add(entry.id);
    try {
      await this.inbox.handle(entry);
      await this.acknowledge(entry.id);
    } finally {
      this.handling.delete(entry.id);
    }
  }

  protected async recover(err: unknown): Promise<void> {
    // A Redis that restarted without its data has lost the stream and the group.
    if (isNoGroupError(err)) await this.ensureGroup();
  }

  /**
   * After a reconnect, entries Redis handed to the lost connection are pending
   * on this very consumer and were never seen here: take them up again now
   * rather than after `claimIdleMs`. Reading from id 0 returns that history.
   */
  protected override async resume(): Promise<void> {
    await this.ensureGroup();
    const { commands, key, consumer } = this.inbox;
    const reply = await commands.xreadgroup('GROUP', INBOX_GROUP, consumer, 'COUNT', this.inFlight.room, 'STREAMS', key, '0');
    const lost = entriesOfReadReply(reply).filter((entry) => !this.handling.has(entry.id));
    if (lost.length > 0) {
      this.inbox.logger.info({ key, count: lost.length }, 'taking up messages delivered to a lost connection');
      this.dispatch(lost);
    }
  }

  /**
   * Reading from id 0 rather than `$`: messages sent before the first
   * subscriber, or sent to a restarted Redis before the group was made again,
   * are waiting to be read, not history to skip.
   */
  private async ensureGroup(): Promise<void> {
    try {
      await this.inbox.commands.xgroup('CREATE', this.inbox.key, INBOX_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!isBusyGroupError(err)) throw err;
    }
  }

  /**
   * Acknowledges (and deletes) `id` together with every other entry handled
   * in the same event-loop turn, in one script call: the handlers of one read
   * batch tend to finish together, and a call per entry cost Redis and the
   * client a command each. Resolves once that call is answered.
   */
  private acknowledge(id: string): Promise<void> {
    this.toAcknowledge.push(id);
    return (this.nextAcknowledgement ??= afterThisTurn().then(() => {
      const ids = this.toAcknowledge;
      this.toAcknowledge = [];
      this.nextAcknowledgement = undefined;
      return this.acknowledgeNow(ids);
    }));
  }

  private acknowledgeNow(ids: string[]): Promise<void> {
    const sent = this.sendAcknowledgement(ids).finally(() => this.acknowledging.delete(sent));
    this.acknowledging.add(sent);
    return sent;
  }

  /** Deleted once acknowledged, so the stream's length is the backlog `send` bounds. */
  private async sendAcknowledgement(ids: string[]): Promise<void> {
    const { commands, key, logger } = this.inbox;
    try {
      await xackDelete(inOneWrite(commands), key, INBOX_GROUP, ids);
    } catch (err) {
      forceReconnectIfStalled(commands, err);
      // Not fatal: the entry stays pending and is claimed and handled again (at least once).
      logger.warn({ key, ids, err: describeError(err) }, 'acknowledgement failed; the message will be delivered again');
    }
  }

  private scheduleClaim(): void {
    if (this.stopped) return;
    this.claimTimer = this.inbox.clock.setTimeout(() => {
      void this.claimStale()
        .catch((err) => {
          forceReconnectIfStalled(this.inbox.commands, err);
          this.inbox.logger.debug({ key: this.inbox.key, err: describeError(err) }, 'claiming stale messages failed');
        })
        .finally(() => this.scheduleClaim());
    }, this.inbox.config.claimIntervalMs);
  }

  private async claimStale(): Promise<void> {
    const { commands, key, consumer, config, logger } = this.inbox;
    const room = this.inFlight.room;
    if (this.stopped || room <= 0) return;
    const rows = (await commands.xpending(key, INBOX_GROUP, 'IDLE', config.claimIdleMs, '-', '+', Math.min(room, 100))) as [
      id: string,
      owner: string,
      idleMs: number,
      deliveries: number,
    ][];
    const stale = rows.filter(([id, owner]) => !(owner === consumer && this.handling.has(id)));
    const exhausted = stale.filter(([, , , deliveries]) => deliveries >= config.maxDeliveries);
    for (const [id, , , deliveries] of exhausted) await this.giveUp(id, deliveries);
    const retry = stale.filter(([, , , deliveries]) => deliveries < config.maxDeliveries).map(([id]) => id);
    if (retry.length > 0 && !this.stopped) {
      // The same min-idle time as the query: if another replica claimed an entry
      // in between, its idle time restarted and this claim skips it.
      const claimed = entriesOf((await commands.xclaim(key, INBOX_GROUP, consumer, config.claimIdleMs, ...retry)) as [string, string[]][]);
      if (claimed.length > 0) {
        logger.info({ key, count: claimed.length }, 'claimed messages a silent consumer left unacknowledged');
        // Stopped meanwhile: leave them pending; another replica claims them in turn.
        if (!this.stopped) this.dispatch(claimed);
      }
    }
    await this.retireGone();
  }

  private async giveUp(id: string, deliveries: number): Promise<void> {
    const { commands, key } = this.inbox;
    const [entry] = entriesOf((await commands.xrange(key, id, id)) as [string, string[]][]);
    if (entry) {
      const raw = fieldValue(entry.fields, MESSAGE_FIELD) ?? JSON.stringify(entry.fields);
      await this.inbox.giveUp(raw, `delivered ${deliveries} times without being acknowledged; its handler crashed or hung each time`);
    }
    // At once, not with the turn's batch: whoever sees the dead letter must not find the entry still pending.
    await this.acknowledgeNow([id]);
  }

  /** Consumer names pile up in the group as processes come and go; remove those of replicas long gone. */
  private async retireGone(): Promise<void> {
    const { commands, key, consumer } = this.inbox;
    const consumers = (await commands.xinfo('CONSUMERS', key, INBOX_GROUP)) as (string | number)[][];
    for (const info of consumers) {
      const fields = new Map<string, string | number>();
      for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]!);
      const name = String(fields.get('name'));
      if (name !== consumer && Number(fields.get('pending')) === 0 && Number(fields.get('idle')) > RETIRE_CONSUMER_IDLE_MS) {
        await commands.xgroup('DELCONSUMER', key, INBOX_GROUP, name);
      }
    }
  }

  /** On unsubscribe, a consumer with nothing pending leaves no trace; one with pending entries stays until they are claimed. */
  private async retireSelf(): Promise<void> {
    const { commands, key, consumer } = this.inbox;
    if (this.handling.size > 0) return;
    const mine = (await commands.xpending(key, INBOX_GROUP, '-', '+', 1, consumer)) as unknown[];
    if (mine.length === 0) await commands.xgroup('DELCONSUMER', key, INBOX_GROUP, consumer);
  }
}

/** A set of stream entry ids, in a plain object (see `InboxReader.handling`). */
class EntrySet {
  private readonly ids: Record<string, true> = Object.create(null) as Record<string, true>;
  size = 0;

  add(id: string): void {
    if (this.ids[id]) return;
    this.ids[id] = true;
    this.size++;
  }

  delete(id: string): void {
    if (!this.ids[id]) return;
    delete this.ids[id];
    this.size--;
  }

  has(id: string): boolean {
    return this.ids[id] === true;
  }
}
