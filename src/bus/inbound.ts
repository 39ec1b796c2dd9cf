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

/**
 * What both backends do with a raw message that arrives: decode and validate
 * it; on failure, dead-letter it with its reason and, when it was a request
 * whose sender can be told, answer with an error so the caller does not wait
 * for its timeout. Returns the message, or null when it was refused.
 */
export async function acceptInbound(
  raw: string,
  source: string,
  deps: { clock: Clock; logger: Logger; deadLetters: DeadLetterSink; maxMessageBytes: number; reply?: (response: Message) => Promise<void> },
): Promise<Message | null> {
  try {
    return decodeMessage(raw, deps.maxMessageBytes);
  } catch (err) {
    const { code, message } = describeError(err);
    await deps.deadLetters
      .record({ source, code, reason: message, raw, receivedAt: deps.clock.now() })
      .catch((sinkErr) => deps.logger.error({ err: describeError(sinkErr), source }, 'dead letter could not be recorded'));
    deps.logger.warn({ source, code, reason: message }, 'malformed message dead-lettered');
    if (err instanceof ValidationError && deps.reply) await answerRefusedRequest(raw, code, message, deps.clock, deps.reply);
    return null;
  }
}

async function answerRefusedRequest(raw: string, code: string, reason: string, clock: Clock, reply: (m: Message) => Promise<void>) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return;
  }
  const m = parsed as Partial<Message>;
  if (!m || typeof m !== 'object' || m.type !== 'request' || typeof m.id !== 'string' || typeof m.from !== 'string') return;
  try {
    const request = { ...m, action: typeof m.action === 'string' ? m.action : 'unknown' } as Message;
    const response = createResponse(request, typeof m.to === 'string' ? m.to : 'bus', { error: { code, message: reason } }, clock.now());
    await reply(response);
  } catch {
    // The sender's own fields are too broken to address an answer: the dead letter is all there is.
  }
}
