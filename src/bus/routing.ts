import { encodeMessage, ValidationError, type Message } from '../protocol/index.js';
import type { SubscriptionTarget } from './bus.js';

/** The same rule as a message's `from` and `to`: an address must be usable as a key suffix. */
const ADDRESS = /^[A-Za-z0-9][A-Za-z0-9_.:\-/]*$/;
const MAX_ADDRESS_CHARS = 200;

export const isAddress = (name: unknown): name is string =>
  typeof name === 'string' && name.length > 0 && name.length <= MAX_ADDRESS_CHARS && ADDRESS.test(name);

/**
 * A reply address names one bus instance (both backends make it a random
 * UUID). A request naming anything else as its `replyTo` is refused, so no
 * message can make a receiver write its answer where the sender chooses.
 */
const REPLY_ADDRESS = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isReplyAddress = (address: unknown): address is string => typeof address === 'string' && REPLY_ADDRESS.test(address);

export const notReplyAddress = (address: string) =>
  new ValidationError('message', [
    { path: 'replyTo', code: 'ORC_PROTOCOL_INVALID_VALUE', message: `"${address.slice(0, 200)}" is not a reply address (the UUID of the requesting bus)` },
  ]);

export function checkAddress(subject: 'inbox' | 'topic', name: unknown): string {
  if (!isAddress(name)) {
    throw new ValidationError(subject, [
      {
        path: '(root)',
        code: typeof name === 'string' ? 'ORC_PROTOCOL_INVALID_VALUE' : 'ORC_PROTOCOL_WRONG_TYPE',
        message: `must be 1–${MAX_ADDRESS_CHARS} letters, digits and _ . : - / starting with a letter or digit`,
      },
    ]);
  }
  return name;
}

export function checkTarget(target: SubscriptionTarget): { kind: 'inbox' | 'topic'; name: string } {
  if (target && 'inbox' in target) return { kind: 'inbox', name: checkAddress('inbox', target.inbox) };
  if (target && 'topic' in target) return { kind: 'topic', name: checkAddress('topic', target.topic) };
  throw new ValidationError('subscription', [
    { path: '(root)', code: 'ORC_PROTOCOL_MISSING_FIELD', message: 'needs an inbox or a topic' },
  ]);
}

/** Where `send` puts a message: a response goes back to the process that asked, anything else to an inbox. */
export type Route = { kind: 'reply'; address: string } | { kind: 'inbox'; name: string };

/**
 * Validates and encodes a message for `send`. Encoding happens once, here, so
 * a message is refused for its size before its route is looked at.
 */
export function encodeForSend(message: Message, maxBytes: number): { raw: string; route: Route } {
  const raw = encodeMessage(message, maxBytes);
  return { raw, route: routeOf(message) };
}

/** Where `send` delivers a valid message. */
export function routeOf(message: Message): Route {
  if (message.type === 'response' && message.replyTo !== undefined) {
    if (!isReplyAddress(message.replyTo)) throw notReplyAddress(message.replyTo);
    return { kind: 'reply', address: message.replyTo };
  }
  if (message.to === null) {
    throw new ValidationError('message', [
      { path: 'to', code: 'ORC_PROTOCOL_MISSING_FIELD', message: 'send needs a receiver; publish an event with no receiver on a topic' },
    ]);
  }
  return { kind: 'inbox', name: message.to };
}

/** A request as it leaves: checked to be one, and carrying the reply address of the process that asks. */
export function asRequest(message: Message, replyTo: string): Message {
  if (message?.type !== 'request') {
    throw new ValidationError('message', [
      { path: 'type', code: 'ORC_PROTOCOL_INVALID_VALUE', message: `request() sends messages of type request, not ${String(message?.type)}` },
    ]);
  }
  return { ...message, replyTo };
}
