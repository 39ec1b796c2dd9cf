import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  redactUrl,
  encodeMessage,
  OrchestraError,
  parseWith,
  silentLogger,
  ValidationError,
  type Clock,
  type DeadLetterSink,
  type Logger,
  type Message,
  type Telemetry,
} from '../protocol/index.js';
import type { Bus, MessageHandler, RequestOptions, Subscription, SubscriptionTarget } from './bus.js';
import { busConfig, redisUrlProblem, type BusConfig, type BusOptions } from './config.js';
import { BusClosedError, BusUnreachableError, InboxFullError } from './errors.js';
import { PendingRequests, sendRequest } from './pending-requests.js';
import { Inbound } from './inbound.js';
import { asRequest, checkAddress, checkTarget, encodeForSend } from './routing.js';
import { RedisDeadLetters } from './redis-dead-letters.js';
import { redisKeys, MESSAGE_FIELD, type RedisKeys } from './redis-keys.js';
import { defineScripts, xaddBounded, xaddExpiring } from './redis-scripts.js';
import { atMost, firstContact, forceReconnectIfStalled, inOneWrite, openCommandConnection } from './redis-connection.js';
import { fieldValue, type StreamEntry } from './redis-entries.js';
import type { BlockingReader } from './redis-reader.js';
import { InboxReader } from './redis-inbox-reader.js';
import { StreamFollower } from './redis-follower.js';

export interface RedisBusDeps extends BusOptions {
  url: string;
  /** Every key this bus touches starts with it, so several systems can share one Redis. */
  prefix: string;
  clock: Clock;
  logger?: Logger;
  /** Default: a `RedisDeadLetters` on `${prefix}:dead-letters`. */
  deadLetters?: DeadLetterSink;
  /** Where request latencies are counted. Default: nowhere. */
  telemetry?: Telemetry;
}

/** The same rule as the CLI's `bus.prefix`: keys stay readable and safe to match with SCAN. */
const KEY_PREFIX = /^[A-Za-z0-9_.:-]+$/;
/** A reply stream outlives a requester that died without closing its bus by at most this long. */
const REPLY_TTL_SECONDS = 60 * 60;
/** Responses waiting in one reply stream; a live requester reads and deletes them at once. */
const REPLY_MAX_LEN = 10_000;

/**
 * The bus on Redis Streams. An agent's inbox is a stream read through one
 * consumer group, so replicas share it and a message a crashed replica never
 * acknowledged is claimed by another; a topic is a stream each subscriber reads
 * on its own; each bus instance has a reply stream for its requests' responses.
 */
export class RedisBus implements Bus {
  readonly config: BusConfig;
  readonly deadLetters: DeadLetterSink;
  /** Names this process in the group and addresses its reply stream. */
  readonly instanceId = randomUUID();
  readonly keys: RedisKeys;
  private readonly redis: Redis;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pending: PendingRequests;
  private readonly inbound: Inbound;
  private readonly readers = new Set<BlockingReader>();
  private replyReader: Promise<StreamFollower> | undefined;
  private subscriptions = 0;
  private closed = false;

  constructor(private readonly deps: RedisBusDeps) {
    const { url: _url, prefix, clock, logger, deadLetters, telemetry, ...options } = deps;
    if (typeof prefix !== 'string' || !KEY_PREFIX.test(prefix)) {
      throw new ValidationError('bus options', [
        { path: 'prefix', code: 'ORC_PROTOCOL_INVALID_VALUE', message: 'must hold only letters, digits and _ . : -' },
      ]);
    }
    this.config = parseWith(busConfig, 'bus options', options);
    const urlProblem = redisUrlProblem(deps.url);
    if (urlProblem) throw new OrchestraError('ORC_CONFIG_INVALID', `Redis URL ${redactUrl(deps.url)}: ${urlProblem}`);
    this.clock = clock;
    this.logger = logger ?? silentLogger;
    this.keys = redisKeys(prefix);
    this.redis = openCommandConnection(deps.url, `orchestra:${this.instanceId}`, this.config.blockMs + this.config.readGraceMs, this.logger);
    defineScripts(this.redis);
    this.deadLetters = deadLetters ?? new RedisDeadLetters(this.redis, this.keys.deadLetters);
    this.pending = new PendingRequests(clock, this.logger, telemetry);
    this.inbound = new Inbound({
      clock,
      logger: this.logger,
      deadLetters: this.deadLetters,
      maxMessageBytes: this.config.maxMessageBytes,
      reply: (response) => this.send(response),
    });
  }

  /**
   * Resolves once Redis answers; rejects with ORC_BUS_UNREACHABLE otherwise:
   * at once when the connection is refused (or the host unknown), after
   * `connectTimeoutMs` when a server accepts but never answers.
   */
  async connect(): Promise<this> {
    const what = `cannot reach Redis at ${redactUrl(this.deps.url)}`;
    await firstContact(this.redis, this.config.connectTimeoutMs, what);
    await this.command(what, () => this.redis.ping());
    return this;
  }

  async send(message: Message): Promise<void> {
    this.assertOpen();
    const { raw, route } = encodeForSend(message, this.config.maxMessageBytes);
    if (route.kind === 'reply') {
      // Each response pushes the expiry back: the stream lives while its requester is being answered.
      await this.command(`response to ${route.address}`, () =>
        xaddExpiring(inOneWrite(this.redis), this.keys.reply(route.address), REPLY_MAX_LEN, MESSAGE_FIELD, raw, REPLY_TTL_SECONDS),
      );
      return;
    }
    const id = await this.command(`send to inbox ${route.name}`, () =>
      xaddBounded(inOneWrite(this.redis), this.keys.inbox(route.name), this.config.inboxMaxLen, MESSAGE_FIELD, raw),
    );
    if (id === null) throw new InboxFullError(route.name, this.config.inboxMaxLen);
  }

  async publish(topic: string, message: Message): Promise<void> {
    this.assertOpen();
    checkAddress('topic', topic);
    const raw = encodeMessage(message, this.config.maxMessageBytes);
    await this.command(`publish on ${topic}`, () =>
      inOneWrite(this.redis).xadd(this.keys.topic(topic), 'MAXLEN', '~', this.config.topicMaxLen, '*', MESSAGE_FIELD, raw),
    );
  }

  async request(message: Message, options: RequestOptions = {}): Promise<Message> {
    this.assertOpen();
    const request = asRequest(message, this.instanceId);
    await this.startReplyReader();
    return sendRequest(this.pending, request, options.timeoutMs ?? this.config.requestTimeoutMs, options.signal, (m) => this.send(m));
  }

  async subscribe(target: SubscriptionTarget, handler: MessageHandler): Promise<Subscription> {
    this.assertOpen();
    const { kind, name } = checkTarget(target);
    const source = `${kind}:${name}`;
    const readerName = `orchestra:${this.instanceId}:${++this.subscriptions}`;
    const common = { name: readerName, config: this.config, logger: this.logger, commands: this.redis };
    const handle = (entry: StreamEntry) => this.handleEntry(entry, source, handler);
    const reader =
      kind === 'inbox'
        ? new InboxReader({
            ...common,
            key: this.keys.inbox(name),
            clock: this.clock,
            // One consumer per subscription: two subscriptions of one bus are two replicas.
            consumer: readerName,
            handle,
            giveUp: (raw, reason) => this.inbound.deadLetter(source, 'ORC_BUS_MAX_DELIVERIES', reason, raw),
          })
        : new StreamFollower({ ...common, key: this.keys.topic(name), from: '$', handle });
    await this.command(`subscribe to ${source}`, () => reader.start());
    if (this.closed) {
      // Closed while the reader was starting: close() did not see it, so stop it here.
      await reader.stop();
      throw new BusClosedError();
    }
    this.readers.add(reader);
    return {
      unsubscribe: async () => {
        this.readers.delete(reader);
        await reader.stop();
      },
    };
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.command('ping', () => this.redis.ping());
  }

  /**
   * Stops every reader, fails waiting requests, removes the reply stream.
   * Handlers already running are not awaited: one may never finish. Their
   * messages stay unacknowledged and a live replica claims them.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const replyReader = this.replyReader?.catch(() => undefined);
    const readers = [...this.readers];
    this.readers.clear();
    await Promise.all([...readers.map((r) => r.stop()), replyReader?.then((r) => r?.stop())]);
    this.pending.rejectAll();
    // Only on a live connection: a command queued while offline would hold its
    // command timeout's timer, and so the process, long after the close.
    if (this.redis.status === 'ready') await atMost(1000, this.redis.del(this.keys.reply(this.instanceId)));
    this.redis.disconnect();
  }

  private async handleEntry(entry: StreamEntry, source: string, handler: MessageHandler): Promise<void> {
    const raw = fieldValue(entry.fields, MESSAGE_FIELD);
    if (raw === undefined) {
      const reason = `stream entry ${entry.id} has no '${MESSAGE_FIELD}' field`;
      await this.inbound.deadLetter(source, 'ORC_PROTOCOL_MISSING_FIELD', reason, JSON.stringify(entry.fields));
      return;
    }
    const message = await this.inbound.accept(raw, source);
    if (message) await this.inbound.run(handler, message, raw, source);
  }

  /** The reply stream's reader starts with the first request and lives as long as the bus. */
  private startReplyReader(): Promise<StreamFollower> {
    if (!this.replyReader) {
      const source = `reply:${this.instanceId}`;
      const reader = new StreamFollower({
        name: `orchestra:${this.instanceId}:replies`,
        key: this.keys.reply(this.instanceId),
        from: '0-0',
        deleteRead: true,
        config: this.config,
        logger: this.logger,
        commands: this.redis,
        handle: async (entry) => {
          const response = await this.inbound.accept(fieldValue(entry.fields, MESSAGE_FIELD) ?? JSON.stringify(entry.fields), source);
          if (response) this.pending.settle(response);
        },
      });
      this.replyReader = this.command('start the reply reader', () => reader.start()).then(() => reader);
      // A failed start is tried again by the next request.
      this.replyReader.catch(() => (this.replyReader = undefined));
    }
    return this.replyReader;
  }

  /** Runs a Redis command, reporting failure as ORC_BUS_UNREACHABLE with what was being done. */
  private async command<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof ValidationError || err instanceof BusClosedError) throw err;
      forceReconnectIfStalled(this.redis, err);
      throw new BusUnreachableError(what, err);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError();
  }
}

/** A Redis bus that has reached its server, or ORC_BUS_UNREACHABLE. */
export async function createRedisBus(deps: RedisBusDeps): Promise<RedisBus> {
  const bus = new RedisBus(deps);
  try {
    return await bus.connect();
  } catch (err) {
    await bus.close();
    throw err;
  }
}
