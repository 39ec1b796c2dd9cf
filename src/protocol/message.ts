import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { jsonValue, type JsonValue } from './json.js';
import { parseJson, parseWith, ValidationError } from './validation.js';

export const MESSAGE_TYPES = ['request', 'response', 'command', 'event'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** 1 MiB: a message is a signal, not a transport for bulk data (put that in a task). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

const name = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:\-/]*$/, 'must start with a letter or digit and hold only letters, digits and _ . : - /');

export const messageErrorSchema = z
  .object({ code: z.string().min(1).max(100), message: z.string().max(10_000) })
  .strict();

export const messageSchema = z
  .object({
    type: z.enum(MESSAGE_TYPES),
    id: z.string().min(1).max(200),
    from: name,
    /** The receiving agent id; null for an event broadcast on a topic. */
    to: name.nullable(),
    /** Ties a conversation together; a response carries its request's id. */
    correlationId: z.string().min(1).max(200),
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
    data: init.data ?? {},
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
      data: body.data ?? {},
      ...(request.replyTo !== undefined ? { replyTo: request.replyTo } : {}),
      ...(body.error ? { error: body.error } : {}),
    },
    nowMs,
  );
}

export function validateMessage(value: unknown): Message {
  return parseWith(messageSchema, 'message', value);
}

export function encodeMessage(message: Message, maxBytes = MAX_MESSAGE_BYTES): string {
  const valid = validateMessage(message);
  const text = JSON.stringify(valid);
  if (Buffer.byteLength(text) > maxBytes) {
    throw new ValidationError('message', [
      { path: '(root)', code: 'ORC_PROTOCOL_TOO_LARGE', message: `encoded message is larger than ${maxBytes} bytes` },
    ]);
  }
  return text;
}

export function decodeMessage(text: string, maxBytes = MAX_MESSAGE_BYTES): Message {
  return validateMessage(parseJson('message', text, maxBytes));
}
