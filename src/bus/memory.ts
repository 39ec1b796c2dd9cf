import { randomUUID } from 'node:crypto';
import { silentLogger, encodeMessage, parseWith, validateMessage, type Clock, type DeadLetterSink, type Logger, type Message, type Telemetry } from '../protocol/index.js';
import type { Bus, MessageHandler, RequestOptions, Subscription, SubscriptionTarget } from './bus.js';
import { busConfig, type BusConfig, type BusOptions } from './config.js';
import { BusClosedError, InboxFullError } from './errors.js';
import { MemoryDeadLetters } from './dead-letters.js';
import { PendingRequests, sendRequest } from './pending-requests.js';
import { Inbound } from './inbound.js';
import { MemoryQueue, type Envelope } from './memory-queue.js';
import { asRequest, checkAddress, checkTarget, routeOf } from './routing.js';
import { copyMessage, encodedBytesBound } from './message-copy.js';

/**
 * What memory buses share, as processes share one Redis: buses made on one
 * broker reach each other's inboxes, topics and reply addresses. A bus made
 * without a broker gets its own.
 */
export class MemoryBroker {
  readonly inboxes = new Map<string, MemoryQueue>();
  readonly topics = new Map<string, Set<MemoryQueue>>();
  readonly replies = new Map<string, (envelope: Envelope) => void>();
}

export interface MemoryBusDeps extends BusOptions {
  clock: Clock;
  logger?: Logger;
  /** Default: a `MemoryDeadLetters` of this bus's own. */
  deadLetters?: DeadLetterSink;
  broker?: MemoryBroker;
  /** Where request latencies are counted. Default: nowhere. */
  telemetry?: Telemetry;
}

/**
 * The in-process bus: the embedded default. Every message is validated on
 * send against the size its JSON text would have, exactly as on Redis, and
 * every receiver gets a copy, never the sender's object, so code tested on it
 * behaves the same on Redis.
 *
 * It validates once: on send, the one boundary a message crosses here. The
 * copy taken then (the sender may change its object meanwhile) is what each
 * receiver gets a copy of (a response, which has one receiver, gets it
 * itself), made as JSON would make it (message-copy.ts) without writing and
 * parsing text, which was most of this bus's time. Only
 * a receiver with a smaller size bound than the sender's has it encoded and
 * validated again. Text from outside (`receiveRaw`) is always decoded and
 * validated.
 */
export class MemoryBus implements Bus {
  readonly config: BusConfig;
  readonly deadLetters: DeadLetterSink;
  readonly broker: MemoryBroker;
  /** Where responses to this bus's requests are sent (`replyTo`). */
  readonly replyAddress = randomUUID();
  private readonly logger: Logger;
  private readonly pending: PendingRequests;
  private readonly inbound: Inbound;
  private readonly detachers = new Set<() => void>();
  private closed = false;

  constructor(deps: MemoryBusDeps) {
    const { clock, logger, deadLetters, broker, telemetry, ...options } = deps;
    this.config = parseWith(busConfig, 'bus options', options);
    this.logger = logger ?? silentLogger;
    this.deadLetters = deadLetters ?? new MemoryDeadLetters();
    this.broker = broker ?? new MemoryBroker();
    this.pending = new PendingRequests(clock, this.logger, telemetry);
    this.inbound = new Inbound({
      clock,
      logger: this.logger,
      deadLetters: this.deadLetters,
      maxMessageBytes: this.config.maxMessageBytes,
      reply: (response) => this.send(response),
    });
    this.broker.replies.set(this.replyAddress, (envelope) => queueMicrotask(() => this.receiveReply(envelope)));
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async send(message: Message): Promise<void> {
    this.assertOpen();
    const envelope = this.seal(message);
    const route = routeOf(message);
    if (route.kind === 'reply') {
      const requester = this.broker.replies.get(route.address);
      if (requester) requester(envelope);
      else this.logger.warn({ replyTo: route.address, correlationId: message.correlationId }, 'response for a requester that is gone; dropped');
      return;
    }
    this.enqueue(route.name, envelope);
  }

  async publish(topic: string, message: Message): Promise<void> {
    this.assertOpen();
    checkAddress('topic', topic);
    this.fanOut(topic, this.seal(message));
  }

  async request(message: Message, options: RequestOptions = {}): Promise<Message> {
    this.assertOpen();
    const request = asRequest(message, this.replyAddress);
    return sendRequest(this.pending, request, options.timeoutMs ?? this.config.requestTimeoutMs, options.signal, (m) => this.send(m));
  }

  async subscribe(target: SubscriptionTarget, handler: MessageHandler): Promise<Subscription> {
    this.assertOpen();
    const { kind, name } = checkTarget(target);
    const source = `${kind}:${name}`;
    const deliver = (envelope: Envelope) => this.deliver(handler, envelope, source);
    let queue: MemoryQueue;
    if (kind === 'inbox') {
      queue = this.inbox(name);
    } else {
      queue = new MemoryQueue(source, this.config.topicMaxLen, 'drop-oldest', this.logger);
      const subscribers = this.broker.topics.get(name) ?? new Set();
      this.broker.topics.set(name, subscribers.add(queue));
    }
    const detachConsumer = queue.attach(deliver, this.config.maxInFlight);
    const detach = () => {
      detachConsumer();
      this.detachers.delete(detach);
      if (kind === 'topic') this.broker.topics.get(name)?.delete(queue);
      else if (queue.idle) this.broker.inboxes.delete(name);
    };
    this.detachers.add(detach);
    return { unsubscribe: async () => detach() };
  }

  /**
   * Stops delivery to this bus and fails its waiting requests. Handlers already
   * running are not awaited: one may never finish, and a process that stops
   * cannot wait for it either.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const detach of [...this.detachers]) detach();
    this.broker.replies.delete(this.replyAddress);
    this.pending.rejectAll();
  }

  /**
   * Delivers text as if it had arrived from outside, without validating it
   * first: what an adapter feeding the bus, or a test of malformed input, needs.
   */
  async receiveRaw(target: SubscriptionTarget, raw: string): Promise<void> {
    const { kind, name } = checkTarget(target);
    if (kind === 'inbox') this.enqueue(name, { raw });
    else this.fanOut(name, { raw });
  }

  private enqueue(inbox: string, envelope: Envelope): void {
    if (!this.inbox(inbox).push(envelope)) throw new InboxFullError(inbox, this.config.inboxMaxLen);
  }

  private fanOut(topic: string, envelope: Envelope): void {
    for (const queue of this.broker.topics.get(topic) ?? []) queue.push(envelope);
  }

  private deliver(handler: MessageHandler, envelope: Envelope, source: string): Promise<void> {
    const message = this.validated(envelope);
    if (message) return this.inbound.run(handler, message, () => JSON.stringify(envelope.sent), source);
    const raw = textOf(envelope);
    return this.inbound.accept(raw, source).then((accepted) => {
      if (accepted) return this.inbound.run(handler, accepted, raw, source);
    });
  }

  private receiveReply(envelope: Envelope): void {
    // A response has one receiver and no dead letter to write from it: the copy taken on send is its own.
    const response = this.fits(envelope) ? envelope.sent : undefined;
    if (response) {
      this.pending.settle(response);
      return;
    }
    void this.inbound.accept(textOf(envelope), `reply:${this.replyAddress}`).then((accepted) => accepted && this.pending.settle(accepted));
  }

  /**
   * Validates a message on send and takes the copy receivers get copies of.
   * The size limit applies to its JSON text, which is written only when a
   * cheap bound on its length exceeds the limit.
   */
  private seal(message: Message): Envelope {
    const maxBytes = this.config.maxMessageBytes;
    const sent = copyMessage(validateMessage(message));
    if (encodedBytesBound(sent) > maxBytes) encodeMessage(sent, maxBytes);
    return { sent, validatedMaxBytes: maxBytes };
  }

  /** The receiver's copy of a message validated on send within this bus's size bound; undefined when it must be decoded and validated. */
  private validated(envelope: Envelope): Message | undefined {
    return this.fits(envelope) ? copyMessage(envelope.sent) : undefined;
  }

  /** Whether a message validated on send needs no validation here. */
  private fits(envelope: Envelope): envelope is Extract<Envelope, { sent: Message }> {
    return envelope.sent !== undefined && envelope.validatedMaxBytes <= this.config.maxMessageBytes;
  }

  private inbox(name: string): MemoryQueue {
    let queue = this.broker.inboxes.get(name);
    if (!queue) {
      queue = new MemoryQueue(`inbox:${name}`, this.config.inboxMaxLen, 'refuse', this.logger);
      this.broker.inboxes.set(name, queue);
    }
    return queue;
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError();
  }
}

/** The text of a message as it would have travelled. */
const textOf = (envelope: Envelope): string => (envelope.sent === undefined ? envelope.raw : JSON.stringify(envelope.sent));

export function createMemoryBus(deps: MemoryBusDeps): MemoryBus {
  return new MemoryBus(deps);
}
