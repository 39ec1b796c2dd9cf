import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import {
  describeError,
  encodeMessage,
  silentLogger,
  OrchestraError,
  type Clock,
  type DeadLetterSink,
  type Logger,
  type Message,
} from '../protocol/index.js';
import type { Bus, MessageHandler, RequestOptions, Subscription, SubscriptionTarget } from './bus.js';
import { busConfig, type BusConfig, type BusOptions } from './config.js';
import { BusClosedError } from './errors.js';
import { PendingRequests } from './pending-requests.js';
import { acceptInbound } from './inbound.js';
import { RedisDeadLetters } from './redis-dead-letters.js';
import { StreamReader, WATCHDOG_MARGIN_MS, type StreamEntry } from './redis-stream-reader.js';

export interface RedisBusDeps extends BusOptions {
  url: string;
  /** Every key this bus touches starts with it: several systems can share one Redis. */
  prefix: string;
  clock: Clock;
  logger?: Logger;
  deadLetters?: DeadLetterSink;
}

const GROUP = 'orchestra';
const FIELD = 'm';
/** A reply stream outlives a dead requester by at most this long. */
const REPLY_TTL_SECONDS = 3600;

/**
 * The bus on Redis Streams. An agent's inbox is a stream read through one
 * consumer group, so replicas share it and a message a crashed replica never
 * acknowledged is claimed by another; topics are streams every subscriber
 * reads on its own; each bus has a reply stream for its requests' responses.
 */
export class RedisBus implements Bus {
  readonly config: BusConfig;
  readonly deadLetters: DeadLetterSink;
  readonly instanceId = randomUUID();
  private readonly redis: Redis;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pending: PendingRequests;
  private readonly readers = new Set<StreamReader>();
  private replyReader: StreamReader | undefined;
  private closed = false;

  constructor(private readonly deps: RedisBusDeps) {
    const { url: _url, prefix: _prefix, clock, logger, deadLetters, ...options } = deps;
    this.config = busConfig.parse(options);
    this.clock = clock;
    this.logger = logger ?? silentLogger;
    this.redis = new Redis(deps.url, connectionOptions());
    this.redis.on('error', (err) => this.logger.debug({ err: describeError(err) }, 'redis connection error'));
    this.deadLetters = deadLetters ?? new RedisDeadLetters(this.redis, `${deps.prefix}:dead-letters`);
    this.pending = new PendingRequests(clock, this.logger);
  }

  /** Resolves once Redis answers, or rejects with ORC_BUS_UNREACHABLE. */
  async connect(): Promise<this> {
    try {
      await this.redis.ping();
    } catch (err) {
      throw new OrchestraError('ORC_BUS_UNREACHABLE', `cannot reach Redis at ${redactRedisUrl(this.deps.url)}: ${describeError(err).message}`, true, {
        cause: err,
      });
    }
    return this;
  }

  inboxKey(agentId: string): string {
    return `${this.deps.prefix}:inbox:${agentId}`;
  }

  topicKey(topic: string): string {
    return `${this.deps.prefix}:topic:${topic}`;
  }

  private replyKey(address: string): string {
    return `${this.deps.prefix}:reply:${address}`;
  }

  async send(message: Message): Promise<void> {
    this.assertOpen();
    const raw = encodeMessage(message, this.config.maxMessageBytes);
    if (message.type === 'response' && message.replyTo) {
      const key = this.replyKey(message.replyTo);
      await this.redis.multi().xadd(key, 'MAXLEN', '~', 10_000, '*', FIELD, raw).expire(key, REPLY_TTL_SECONDS).exec();
      return;
    }
    if (message.to === null) throw new OrchestraError('ORC_PROTOCOL_MISSING_FIELD', 'invalid message: to: a message sent to an inbox needs a receiver');
    await this.redis.xadd(this.inboxKey(message.to), 'MAXLEN', '~', this.config.inboxMaxLen, '*', FIELD, raw);
  }

  async publish(topic: string, message: Message): Promise<void> {
    this.assertOpen();
    const raw = encodeMessage(message, this.config.maxMessageBytes);
    await this.redis.xadd(this.topicKey(topic), 'MAXLEN', '~', this.config.topicMaxLen, '*', FIELD, raw);
  }

  async request(message: Message, options: RequestOptions = {}): Promise<Message> {
    this.assertOpen();
    await this.ensureReplyReader();
    const request: Message = { ...message, replyTo: this.instanceId };
    const response = this.pending.wait(request, options.timeoutMs ?? this.config.requestTimeoutMs, options.signal);
    try {
      await this.send(request);
    } catch (err) {
      this.pending.abandon(request.id);
      response.catch(() => undefined);
      throw err;
    }
    return response;
  }

  async subscribe(target: SubscriptionTarget, handler: MessageHandler): Promise<Subscription> {
    this.assertOpen();
    const isInbox = 'inbox' in target;
    const key = isInbox ? this.inboxKey(target.inbox) : this.topicKey(target.topic);
    const source = isInbox ? `inbox:${target.inbox}` : `topic:${target.topic}`;
    const reader = new StreamReader({
      key,
      mode: isInbox ? { kind: 'group', group: GROUP, consumer: this.instanceId } : { kind: 'fanout' },
      connection: () => this.readerConnection(),
      config: this.config,
      clock: this.clock,
      logger: this.logger,
      handle: (entry) => this.handleEntry(entry, source, handler),
      deadLetter: (entry, reason) => this.deadLetterEntry(entry, source, reason),
    });
    await reader.start();
    this.readers.add(reader);
    return {
      unsubscribe: async () => {
        this.readers.delete(reader);
        await reader.stop();
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const readers = [...this.readers, ...(this.replyReader ? [this.replyReader] : [])];
    this.readers.clear();
    await Promise.allSettled(readers.map((r) => r.stop()));
    this.pending.rejectAll();
    await this.redis.del(this.replyKey(this.instanceId)).catch(() => undefined);
    this.redis.disconnect();
  }

  /** Returns true when the entry is done with (acknowledge it), false to leave it for redelivery. */
  private async handleEntry(entry: StreamEntry, source: string, handler: MessageHandler): Promise<boolean> {
    const message = await this.accept(entry.fields[FIELD] ?? '', source);
    if (!message) return true;
    try {
      await handler(message);
    } catch (err) {
      const { message: reason } = describeError(err);
      this.logger.error({ err: describeError(err), source, action: message.action }, 'message handler failed');
      await this.deadLetters
        .record({ source, code: 'ORC_BUS_HANDLER_FAILED', reason, raw: entry.fields[FIELD] ?? '', receivedAt: this.clock.now() })
        .catch(() => undefined);
    }
    return true;
  }

  private async deadLetterEntry(entry: StreamEntry, source: string, reason: string): Promise<void> {
    await this.deadLetters.record({
      source,
      code: 'ORC_BUS_HANDLER_FAILED',
      reason,
      raw: entry.fields[FIELD] ?? JSON.stringify(entry.fields),
      receivedAt: this.clock.now(),
    });
  }

  private accept(raw: string, source: string): Promise<Message | null> {
    return acceptInbound(raw, source, {
      clock: this.clock,
      logger: this.logger,
      deadLetters: this.deadLetters,
      maxMessageBytes: this.config.maxMessageBytes,
      reply: (response) => this.send(response),
    });
  }

  private async ensureReplyReader(): Promise<void> {
    if (this.replyReader) return;
    const reader = new StreamReader({
      key: this.replyKey(this.instanceId),
      mode: { kind: 'fanout', from: '0-0' },
      connection: () => this.readerConnection(),
      config: this.config,
      clock: this.clock,
      logger: this.logger,
      handle: async (entry) => {
        const message = await this.accept(entry.fields[FIELD] ?? '', 'reply');
        if (message) this.pending.settle(message);
        return true;
      },
      deadLetter: async () => undefined,
    });
    this.replyReader = reader;
    await reader.start();
  }

  private readerConnection(): Redis {
    const connection = new Redis(this.deps.url, {
      ...connectionOptions(),
      // Blocking reads wait out a reconnect instead of failing after a few retries.
      maxRetriesPerRequest: null,
      // A read that outlasts its BLOCK by this much is on a dead (half-open) connection.
      commandTimeout: this.config.blockMs + WATCHDOG_MARGIN_MS,
    });
    connection.on('error', (err) => this.logger.debug({ err: describeError(err) }, 'redis reader connection error'));
    return connection;
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError();
  }
}

function connectionOptions(): RedisOptions {
  return {
    // Reconnect for ever, quickly at first: a restarted Redis must be picked up by itself.
    retryStrategy: (times) => Math.min(50 * times, 1000),
    lazyConnect: false,
  };
}

export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable url)';
  }
}

export async function createRedisBus(deps: RedisBusDeps): Promise<RedisBus> {
  const bus = new RedisBus(deps);
  try {
    return await bus.connect();
  } catch (err) {
    await bus.close().catch(() => undefined);
    throw err;
  }
}
