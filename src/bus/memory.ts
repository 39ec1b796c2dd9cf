import { randomUUID } from 'node:crypto';
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
import { MemoryDeadLetters } from './dead-letters.js';
import { PendingRequests } from './pending-requests.js';
import { acceptInbound } from './inbound.js';

interface Inbox {
  handlers: { handler: MessageHandler; bus: MemoryBus }[];
  next: number;
  /** Messages sent before anyone listened, delivered to the first subscriber. */
  backlog: string[];
}

/**
 * The in-process broker memory buses share: buses made on one broker are
 * like processes on one Redis. Each `createMemoryBus` without a broker gets
 * its own.
 */
export class MemoryBroker {
  readonly inboxes = new Map<string, Inbox>();
  readonly topics = new Map<string, Set<{ handler: MessageHandler; bus: MemoryBus }>>();
  readonly replies = new Map<string, MemoryBus>();
}

export interface MemoryBusDeps extends BusOptions {
  clock: Clock;
  logger?: Logger;
  deadLetters?: DeadLetterSink;
  broker?: MemoryBroker;
}

export class MemoryBus implements Bus {
  readonly config: BusConfig;
  readonly deadLetters: DeadLetterSink;
  readonly broker: MemoryBroker;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pending: PendingRequests;
  private readonly replyAddress = `reply.${randomUUID()}`;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(deps: MemoryBusDeps) {
    const { clock, logger, deadLetters, broker, ...options } = deps;
    this.config = busConfig.parse(options);
    this.clock = clock;
    this.logger = logger ?? silentLogger;
    this.deadLetters = deadLetters ?? new MemoryDeadLetters();
    this.broker = broker ?? new MemoryBroker();
    this.pending = new PendingRequests(clock, this.logger);
    this.broker.replies.set(this.replyAddress, this);
  }

  async send(message: Message): Promise<void> {
    this.assertOpen();
    const raw = encodeMessage(message, this.config.maxMessageBytes);
    if (message.type === 'response' && message.replyTo) {
      const requester = this.broker.replies.get(message.replyTo);
      if (requester) requester.deliverReply(raw);
      else this.logger.warn({ replyTo: message.replyTo }, 'response for a requester that is gone; dropped');
      return;
    }
    if (message.to === null) throw new OrchestraError('ORC_PROTOCOL_MISSING_FIELD', 'invalid message: to: a message sent to an inbox needs a receiver');
    this.deliverToInbox(message.to, raw);
  }

  async publish(topic: string, message: Message): Promise<void> {
    this.assertOpen();
    const raw = encodeMessage(message, this.config.maxMessageBytes);
    for (const sub of this.broker.topics.get(topic) ?? []) sub.bus.dispatch(sub.handler, raw, `topic:${topic}`);
  }

  async request(message: Message, options: RequestOptions = {}): Promise<Message> {
    this.assertOpen();
    const request: Message = { ...message, replyTo: this.replyAddress };
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
    const entry = { handler, bus: this };
    if ('inbox' in target) {
      const inbox = this.inbox(target.inbox);
      inbox.handlers.push(entry);
      for (const raw of inbox.backlog.splice(0)) this.deliverToInbox(target.inbox, raw);
      return {
        unsubscribe: async () => {
          inbox.handlers = inbox.handlers.filter((h) => h !== entry);
        },
      };
    }
    const subs = this.broker.topics.get(target.topic) ?? new Set();
    this.broker.topics.set(target.topic, subs);
    subs.add(entry);
    return {
      unsubscribe: async () => {
        subs.delete(entry);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const inbox of this.broker.inboxes.values()) inbox.handlers = inbox.handlers.filter((h) => h.bus !== this);
    for (const subs of this.broker.topics.values()) for (const s of [...subs]) if (s.bus === this) subs.delete(s);
    this.broker.replies.delete(this.replyAddress);
    this.pending.rejectAll();
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Delivers text as if it had arrived from outside, undecoded: what an
   * adapter feeding the bus, or a test of malformed input, needs.
   */
  receiveRaw(target: SubscriptionTarget, raw: string): void {
    if ('inbox' in target) this.deliverToInbox(target.inbox, raw);
    else for (const sub of this.broker.topics.get(target.topic) ?? []) sub.bus.dispatch(sub.handler, raw, `topic:${target.topic}`);
  }

  /** Resolves when every handler started so far has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private deliverToInbox(to: string, raw: string): void {
    const inbox = this.inbox(to);
    if (inbox.handlers.length === 0) {
      if (inbox.backlog.length >= this.config.inboxMaxLen) {
        throw new OrchestraError('ORC_BUS_UNREACHABLE', `inbox ${to} holds ${inbox.backlog.length} undelivered messages; nobody is reading it`, true);
      }
      inbox.backlog.push(raw);
      return;
    }
    // Replicas of one agent share its inbox: each message goes to one of them, in turn.
    const target = inbox.handlers[inbox.next++ % inbox.handlers.length]!;
    target.bus.dispatch(target.handler, raw, `inbox:${to}`);
  }

  private deliverReply(raw: string): void {
    const run = (async () => {
      await Promise.resolve();
      const message = await this.accept(raw, `reply:${this.replyAddress}`);
      if (message) this.pending.settle(message);
    })();
    this.track(run);
  }

  private dispatch(handler: MessageHandler, raw: string, source: string): void {
    const run = (async () => {
      // Never run a handler inside the sender's call: delivery is asynchronous on every backend.
      await Promise.resolve();
      if (this.closed) return;
      const message = await this.accept(raw, source);
      if (!message) return;
      try {
        await handler(message);
      } catch (err) {
        const { message: reason } = describeError(err);
        this.logger.error({ err: describeError(err), source, action: message.action }, 'message handler failed');
        await this.deadLetters.record({ source, code: 'ORC_BUS_HANDLER_FAILED', reason, raw, receivedAt: this.clock.now() }).catch(() => undefined);
      }
    })();
    this.track(run);
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

  private track(run: Promise<void>): void {
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private inbox(id: string): Inbox {
    let inbox = this.broker.inboxes.get(id);
    if (!inbox) {
      inbox = { handlers: [], next: 0, backlog: [] };
      this.broker.inboxes.set(id, inbox);
    }
    return inbox;
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError();
  }
}

export function createMemoryBus(deps: MemoryBusDeps): MemoryBus {
  return new MemoryBus(deps);
}
