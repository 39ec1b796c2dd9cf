import { z } from 'zod';
import {
  describeError,
  isRetryable,
  jsonValue,
  NonRetryableError,
  OrchestraError,
  type JsonValue,
} from '../protocol/index.js';

/** What a worker records about a failed attempt (the registry adds the attempt number). */
export interface TaskFailure {
  code: string;
  message: string;
  retryable: boolean;
  details?: Record<string, JsonValue>;
}

/** A runaway message (a whole log in an exception) must not bloat every read of the task. */
const MAX_MESSAGE_CHARS = 4096;
const detailsSchema = z.record(z.string(), jsonValue);

/**
 * Turns whatever a handler threw into the failure the registry records.
 * Codes are kept only from our own errors (an `OrchestraError`, or the code a
 * handler chose for a `NonRetryableError`), so a task's error code is always
 * one a script can match on; anything else is `ORC_WORKER_HANDLER_FAILED`
 * with its message. `details` (a command's stderr, a failing field) are kept
 * when they are JSON; the retry decision travels with the error.
 */
export function toTaskFailure(err: unknown): TaskFailure {
  const { message } = describeError(err);
  const code = err instanceof NonRetryableError ? err.taskCode : err instanceof OrchestraError ? err.code : 'ORC_WORKER_HANDLER_FAILED';
  const failure: TaskFailure = {
    code,
    message: message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message,
    retryable: isRetryable(err),
  };
  const details = err !== null && typeof err === 'object' ? (err as { details?: unknown }).details : undefined;
  const parsed = details === undefined ? undefined : detailsSchema.safeParse(details);
  if (parsed?.success) failure.details = parsed.data;
  return failure;
}

/**
 * A handler's result must survive JSON encoding: one that cannot (a BigInt, a
 * cycle) would make every report fail until the lease ran out, and the task
 * would be retried for nothing. It fails at once instead, and for good, since
 * running the same handler again returns the same kind of value.
 */
export function checkResult(result: unknown): { ok: true; result: JsonValue } | { ok: false; error: OrchestraError } {
  if (result === undefined) return { ok: true, result: null };
  try {
    if (JSON.stringify(result) === undefined) return unencodable(`a ${typeof result} has no JSON form`);
  } catch (err) {
    return unencodable(describeError(err).message);
  }
  return { ok: true, result: result as JsonValue };
}

const unencodable = (why: string): { ok: false; error: OrchestraError } => ({
  ok: false,
  error: new OrchestraError('ORC_WORKER_HANDLER_FAILED', `the handler's result cannot be encoded as JSON: ${why}`),
});
