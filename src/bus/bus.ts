import type { Message } from '../protocol/index.js';

export type MessageHandler = (message: Message) => void | Promise<void>;

/**
 * What to listen to:
 * - `inbox`: messages `send` addresses to one agent id. Replicas of that id
 *   share them: each message is handled by one replica, and one a crashed
 *   replica never finished is delivered again.
 * - `topic`: events `publish`ed on a topic. Every subscriber gets every event.
 */
export type SubscriptionTarget = { inbox: string } | { topic: string };

export interface Subscription {
  unsubscribe(): Promise<void>;
}

export interface RequestOptions {
  /** Default: the bus's `requestTimeoutMs` (30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * The only way agents talk. Every message is validated before it leaves and
 * when it arrives; one that fails is dead-lettered with its reason and never
 * stops a receiver.
 */
export interface Bus {
  /** Delivers `message` to the inbox of `message.to`. */
  send(message: Message): Promise<void>;
  /** Delivers `message` to every subscriber of `topic`. */
  publish(topic: string, message: Message): Promise<void>;
  /**
   * Sends a request and resolves with the response that carries its id as
   * correlation id; rejects with `RequestTimeoutError` when none arrives in
   * time, or `RemoteError` when the response carries an error. A response that
   * arrives after the timeout is dropped with a log line.
   */
  request(message: Message, options?: RequestOptions): Promise<Message>;
  subscribe(target: SubscriptionTarget, handler: MessageHandler): Promise<Subscription>;
  /** Resolves when the bus answers (Redis replies to a PING); rejects when it is closed or unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
