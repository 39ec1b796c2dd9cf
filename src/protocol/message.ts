import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { jsonValue, type JsonValue } from './json.js';
import { parseJson, ValidationError } from './validation.js';
import {
  checkMessage,
  MAX_ERROR_CODE_CHARS,
  MAX_ERROR_MESSAGE_CHARS,
  MAX_ID_CHARS,
  MAX_NAME_CHARS,
  MESSAGE_TYPES,
  NAME_PATTERN,
  NAME_RULE,
} from './message-check.js';

export { MESSAGE_TYPES };
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** 1 MiB: a message is a signal, not a transport for bulk data (put that in a task). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

const name = z.string().min(1).max(MAX_NAME_CHARS).regex(NAME_PATTERN, NAME_RULE);

export const messageErrorSchema = z
  .object({ code: z.string().min(1).max(MAX_ERROR_CODE_CHARS), message: z.string().max(MAX_ERROR_MESSAGE_CHARS) })
  .strict();

/**
 * The message envelope: the documented schema and the source of the
 * `Message` type. Messages are checked by `checkMessage` (message-check.ts),
 * written by hand to be many times faster and tested to agree with this
 * schema on every outcome; a change here must be made there too.
 */
export const messageSchema = z
  .object({
    type: z.enum(MESSAGE_TYPES),
    id: z.string().min(1).max(MAX_ID_CHARS),
    from: name,
    /** The receiving agent id; null for an event broadcast on a topic. */
    to: name.nullable(),
    /** Ties a conversation together; a response carries its request's id. */
    correlationId: z.string().min(1).max(MAX_ID_CHARS),
    /** Epoch milliseconds from the sender's clock. */
    timestamp: z.number().int().nonnegative(),
    action: name,
    data: jsonValue,
    /**
     * Where a response must go. Replicas of one agent share its inbox, so a
     * response addressed to `from` could reach a replica that never asked;
     * the requesting process names its own reply address here, and the
     * response carries it back so the bus delivers it there.
     */
    replyTo: name.optional(),
    /** Set on a response that reports a failure instead of a result. */
    error: messageErrorSchema.optional(),
  })
  .strict();

export type Message = z.output<typeof messageSchema>;
export type MessageError = z.output<typeof messageErrorSchema>;

export interface MessageInit {
  type: MessageType;
  from: string;
  to: string | null;
  action: string;
  data?: JsonValue;
  correlationId?: string;
  replyTo?: string;
  error?: MessageError;
  id?: string;
}

/** Builds a message with a fresh id; the correlation id defaults to that id. */
export function createMessage(init: MessageInit, nowMs: number): Message {
  const id = init.id ?? randomUUID();
  const message: Message = {
    type: init.type,
    id,
    from: init.from,
    to: init.to,
    correlationId: init.correlationId ?? id,
    timestamp: nowMs,
    action: init.action,
    // `null` is an answer ("none"); only a missing body becomes `{}`.
    data: init.data === undefined ? {} : init.data,
  };
  if (init.replyTo !== undefined) message.replyTo = init.replyTo;
  if (init.error !== undefined) message.error = init.error;
  return message;
}

/** The response to `request`, addressed to the requester. */
export function createResponse(
  request: Message,
  from: string,
  body: { data?: JsonValue; error?: MessageError },
  nowMs: number,
): Message {
  return createMessage(
    {
      type: 'response',
      from,
      to: request.from,
      action: request.action,
      correlationId: request.id,
      data: body.data === undefined ? {} : body.data,
      ...(request.replyTo !== undefined ? { replyTo: request.replyTo } : {}),
      ...(body.error ? { error: body.error } : {}),
    },
    nowMs,
  );
}

/** What `messageSchema` makes of `value`, or the `ValidationError` naming every field it refuses. */
export function validateMessage(value: unknown): Message {
  const checked = checkMessage(value);
  if (!checked.ok) throw new ValidationError('message', checked.issues);
  return checked.message;
}

/**
 * Whether `text` may be longer than `maxBytes` in UTF-8. A UTF-16 code unit
 * takes at most 3 bytes, so most messages are answered without counting
 * (Buffer.byteLength walks the whole string).
 */
const mayExceed = (text: string, maxBytes: number) => text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes;

export function encodeMessage(message: Message, maxBytes = MAX_MESSAGE_BYTES): string {
  const valid = validateMessage(message);
  const text = JSON.stringify(valid);
  if (mayExceed(text, maxBytes)) {
    throw new ValidationError('message', [
      { path: '(root)', code: 'ORC_PROTOCOL_TOO_LARGE', message: `encoded message is larger than ${maxBytes} bytes` },
    ]);
  }
  return text;
}

export function decodeMessage(text: string, maxBytes = MAX_MESSAGE_BYTES): Message {
  return validateMessage(parseJson('message', text, mayExceed(text, maxBytes) ? maxBytes : undefined));
}
