import {
  createResponse,
  decodeMessage,
  describeError,
  ValidationError,
  type Clock,
  type DeadLetterSink,
  type Logger,
  type Message,
} from '../protocol/index.js';
import type { MessageHandler } from './bus.js';
import { isAddress, isReplyAddress, notReplyAddress } from './routing.js';

export interface InboundDeps {
  clock: Clock;
  logger: Logger;
  deadLetters: DeadLetterSink;
  maxMessageBytes: number;
  /** Sends an answer (through the bus's own `send`, so it is validated and routed like any other). */
  reply(response: Message): Promise<void>;
}

/** Past this, a refused message is not even parsed to find out whom to answer. */
const MAX_PARSE_FOR_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * What both backends do with a message that arrives, so they behave alike:
 * decode and validate it, run the handler, and turn every failure into a dead
 * letter with its reason instead of an exception that could stop a receiver
 * (invariant 3).
 */
export class Inbound {
  constructor(private readonly deps: InboundDeps) {}

  /**
   * Decodes `raw`; on failure dead-letters it and, when it was a request whose
   * sender can be addressed, answers with an error so the caller does not sit
   * out its timeout. Returns null for a refused message.
   */
  async accept(raw: string, source: string): Promise<Message | null> {
    try {
      const message = decodeMessage(raw, this.deps.maxMessageBytes);
      if (message.type === 'request' && message.replyTo !== undefined && !isReplyAddress(message.replyTo)) throw notReplyAddress(message.replyTo);
      return message;
    } catch (err) {
      const { code, message } = describeError(err);
      await this.deadLetter(source, code, message, raw);
      if (err instanceof ValidationError) await this.answerRefused(raw, code, message);
      return null;
    }
  }

  /**
   * Runs a handler; a throw is logged and dead-lettered, and the receiver goes
   * on. A request whose handler threw is answered with the error, so its caller
   * learns of it now rather than at its timeout. `raw` is the message as it
   * arrived, for the dead letter; a function when it must be written first.
   */
  async run(handler: MessageHandler, message: Message, raw: string | (() => string), source: string): Promise<void> {
    try {
      await handler(message);
    } catch (err) {
      const { code, message: reason } = describeError(err);
      this.deps.logger.error({ source, action: message.action, id: message.id, code, reason }, 'message handler failed');
      await this.deadLetter(source, 'ORC_BUS_HANDLER_FAILED', `${code}: ${reason}`, typeof raw === 'string' ? raw : raw(), false);
      if (message.type === 'request') {
        const answerCode = code.startsWith('ORC_') ? code : 'ORC_BUS_HANDLER_FAILED';
        await this.answer(message, answerCode, reason);
      }
    }
  }

  async deadLetter(source: string, code: string, reason: string, raw: string, log = true): Promise<void> {
    if (log) this.deps.logger.warn({ source, code, reason }, 'message dead-lettered');
    try {
      await this.deps.deadLetters.record({ source, code, reason, raw, receivedAt: this.deps.clock.now() });
    } catch (err) {
      // The sink is a backend too (a Redis stream); losing a dead letter must not stop the receiver.
      this.deps.logger.error({ source, code, reason, err: describeError(err) }, 'dead letter could not be recorded');
    }
  }

  private async answerRefused(raw: string, code: string, reason: string): Promise<void> {
    const request = addressableRequest(raw);
    if (request) await this.answer(request, code, reason);
  }

  private async answer(request: Message, code: string, reason: string): Promise<void> {
    try {
      const error = { code: code.slice(0, 100), message: reason.slice(0, 10_000) };
      await this.deps.reply(createResponse(request, request.to ?? 'bus', { error }, this.deps.clock.now()));
    } catch (err) {
      this.deps.logger.warn({ id: request.id, err: describeError(err) }, 'could not answer a request with its error');
    }
  }
}

/**
 * The fields of a refused message that are still good enough to answer it: a
 * request with an id, and a reply address or a sender. Everything else is
 * replaced by a placeholder, since the answer only has to reach the caller.
 */
function addressableRequest(raw: string): Message | null {
  if (Buffer.byteLength(raw) > MAX_PARSE_FOR_ANSWER_BYTES) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const m = parsed as Record<string, unknown>;
  if (m.type !== 'request' || typeof m.id !== 'string' || m.id.length === 0 || m.id.length > 200) return null;
  // Answered only at a reply address: never into a stream the message itself names.
  if (!isReplyAddress(m.replyTo)) return null;
  const replyTo = m.replyTo;
  const from = isAddress(m.from) ? m.from : 'unknown';
  return {
    type: 'request',
    id: m.id,
    from,
    to: isAddress(m.to) ? m.to : null,
    correlationId: m.id,
    timestamp: 0,
    action: isAddress(m.action) ? m.action : 'unknown',
    data: {},
    replyTo,
  };
}
