import type { Logger, Message } from '../protocol/index.js';
import { InFlight } from './in-flight.js';

/**
 * One message waiting in a queue: text from outside (`receiveRaw`), decoded
 * and validated on delivery like anything arriving over Redis, or a message a
 * bus of this process validated on send.
 */
export type Envelope =
  | { raw: string; sent?: undefined }
  | {
      /** The sender's message as validated and copied on send; each receiver gets a copy of it. */
      sent: Message;
      /** The `maxMessageBytes` it was validated against. */
      validatedMaxBytes: number;
    };

/** Takes one message and returns when its handler is done. */
export type Deliver = (envelope: Envelope) => Promise<void>;

interface Consumer {
  deliver: Deliver;
  inFlight: InFlight;
}

/**
 * A FIFO of messages and the subscriptions that take from it: one per
 * inbox (replicas take turns) and one per topic subscription. Messages wait
 * here while nobody subscribes or every subscriber is busy, so the bound on
 * this queue is the bound on the memory a receiver that falls behind can cost.
 */
export class MemoryQueue {
  /** Taken items are cleared at once: one left until the next compaction outlived young-generation collections and cost old-space ones. */
  private items: (Envelope | undefined)[] = [];
  private head = 0;
  private readonly consumers: Consumer[] = [];
  private turn = 0;
  private scheduled = false;

  constructor(
    readonly source: string,
    private readonly maxLen: number,
    /** An inbox refuses a message past its bound; a topic drops its oldest event, as Redis trimming does. */
    private readonly overflow: 'refuse' | 'drop-oldest',
    private readonly logger: Logger,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get idle(): boolean {
    return this.length === 0 && this.consumers.length === 0;
  }

  /** False when the queue is full and refuses it. */
  push(envelope: Envelope): boolean {
    if (this.length >= this.maxLen) {
      if (this.overflow === 'refuse') return false;
      this.items[this.head++] = undefined;
      this.compact();
      this.logger.warn({ source: this.source, maxLen: this.maxLen }, 'subscriber is behind; oldest event dropped');
    }
    this.items.push(envelope);
    this.schedule();
    return true;
  }

  attach(deliver: Deliver, capacity: number): () => void {
    const consumer: Consumer = { deliver, inFlight: new InFlight(capacity, () => this.schedule()) };
    this.consumers.push(consumer);
    this.schedule();
    return () => {
      const at = this.consumers.indexOf(consumer);
      if (at >= 0) this.consumers.splice(at, 1);
    };
  }

  /**
   * Delivery always happens in a later microtask, never inside `send`: a
   * handler must not run on its sender's stack, on any backend.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.length > 0) {
      const consumer = this.nextWithRoom();
      if (!consumer) return;
      const envelope = this.items[this.head]!;
      this.items[this.head++] = undefined;
      this.compact();
      consumer.inFlight.track(consumer.deliver(envelope));
    }
  }

  /** Replicas take turns; one with no room is passed over until a handler of its finishes. */
  private nextWithRoom(): Consumer | undefined {
    for (let i = 0; i < this.consumers.length; i++) {
      const consumer = this.consumers[this.turn++ % this.consumers.length]!;
      if (consumer.inFlight.room > 0) return consumer;
    }
    return undefined;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
