import type { ErrorCode } from './errors.js';
import { findJsonProblem, MAX_JSON_DEPTH } from './json.js';
import type { Message } from './message.js';
import { hasPath, type ValidationIssue } from './validation.js';

/*
 * The message envelope, checked by hand. `messageSchema` (message.ts) stays the
 * one documented schema and the source of the `Message` type; this is what the
 * bus runs on every message that crosses a process boundary. The zod schema
 * cost 10–20 µs a message, four times per request/response over Redis; this
 * costs well under a microsecond. It must accept exactly what the schema
 * accepts, return the same value, and refuse with the same issues (path, code,
 * message, in the same order): test/protocol/message-check.test.ts runs both
 * over thousands of valid and malformed envelopes and compares.
 *
 * So it mirrors zod's rules where they are not obvious: every check of a
 * string runs (an empty name is both too short and badly formed); a field is
 * read through the prototype chain and "present" is `key in value`; unknown
 * keys are those `for…in` yields, reported together after the fields; zod's
 * English messages are copied word for word. The codes follow
 * `toValidationError` (validation.ts): a field that is not an own, defined
 * property of the input is missing, whatever else is wrong with it.
 */

export const MESSAGE_TYPES = ['request', 'response', 'command', 'event'] as const;
/** An agent id, inbox, topic or action: usable as a Redis key suffix. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:\-/]*$/;
export const NAME_RULE = 'must start with a letter or digit and hold only letters, digits and _ . : - /';
export const MAX_NAME_CHARS = 200;
export const MAX_ID_CHARS = 200;
export const MAX_ERROR_CODE_CHARS = 100;
export const MAX_ERROR_MESSAGE_CHARS = 10_000;

const TYPES: ReadonlySet<unknown> = new Set(MESSAGE_TYPES);
const TYPE_OPTIONS = MESSAGE_TYPES.map((t) => `"${t}"`).join('|');

type Path = (string | number)[];

/** The kinds of zod issue the envelope can raise; each maps to a code as `toValidationError` maps it. */
type IssueKind = 'invalid_type' | 'invalid_value' | 'too_small' | 'too_big' | 'invalid_format' | 'unrecognized_keys' | 'custom';

/** Collects issues; nothing is allocated until the first one. */
class Issues {
  list: ValidationIssue[] | undefined;

  constructor(private readonly input: unknown) {}

  add(kind: IssueKind, path: Path, message: string, value?: unknown): void {
    (this.list ??= []).push({ path: path.length ? path.map(String).join('.') : '(root)', code: this.codeFor(kind, path, value), message });
  }

  private codeFor(kind: IssueKind, path: Path, value: unknown): ErrorCode {
    if (kind !== 'unrecognized_keys' && !hasPath(this.input, path)) return 'ORC_PROTOCOL_MISSING_FIELD';
    switch (kind) {
      case 'invalid_type':
        return 'ORC_PROTOCOL_WRONG_TYPE';
      case 'too_small':
      case 'too_big':
        return 'ORC_PROTOCOL_OUT_OF_RANGE';
      case 'unrecognized_keys':
        return 'ORC_PROTOCOL_UNKNOWN_FIELD';
      case 'invalid_value':
        // Only the type enum raises it, and its options are strings: `"type": 7` is a wrong type.
        return typeof value === 'string' ? 'ORC_PROTOCOL_INVALID_VALUE' : 'ORC_PROTOCOL_WRONG_TYPE';
      default:
        return 'ORC_PROTOCOL_INVALID_VALUE';
    }
  }
}

/** zod's name for what it received (`util.parsedType` and the English locale's `getTypeName`). */
function received(value: unknown): string {
  const type = typeof value;
  if (type === 'number') return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? 'number' : String(value);
  if (type !== 'object') return type;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const object = value as { constructor?: { name: string } };
  if (Object.getPrototypeOf(object) !== Object.prototype && 'constructor' in object && object.constructor) {
    return `${(ZOD_TYPE_NAMES as Record<string, unknown>)[object.constructor.name] ?? object.constructor.name}`;
  }
  return 'object';
}
/** A plain object on purpose, as zod's own dictionary is: the lookup must behave as it does for any name. */
const ZOD_TYPE_NAMES = { nan: 'NaN' };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function wrongType(issues: Issues, path: Path, expected: string, value: unknown): void {
  issues.add('invalid_type', path, `Invalid input: expected ${expected}, received ${received(value)}`);
}

/** A string's length in Unicode code points, as zod measures it: a surrogate pair is one. */
function codePoints(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    if ((text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}

/**
 * `z.string().min(min).max(max)`, with `.regex(NAME_PATTERN, NAME_RULE)` when
 * `name`; `min` undefined when the schema sets none. As in zod, the length
 * checks also run on a value of the wrong type that has a `length` (an
 * array, a function), measuring that.
 */
function checkString(issues: Issues, path: Path, value: unknown, min: number | undefined, max: number, name: boolean): void {
  if (typeof value !== 'string') {
    wrongType(issues, path, 'string', value);
    const length = value === null || value === undefined ? undefined : (value as { length?: unknown }).length;
    if (length === undefined) return;
    const [origin, sized] = Array.isArray(value) ? ['array', true] : ['unknown', false];
    if (min !== undefined && !((length as number) >= min)) {
      issues.add('too_small', path, sized ? `Too small: expected ${origin} to have >=${min} items` : `Too small: expected ${origin} to be >=${min}`);
    }
    if (!((length as number) <= max)) {
      issues.add('too_big', path, sized ? `Too big: expected ${origin} to have <=${max} items` : `Too big: expected ${origin} to be <=${max}`);
    }
    return;
  }
  // A code point is one or two UTF-16 units: count them only where that decides.
  if (min !== undefined && value.length < 2 * min && codePoints(value) < min) {
    issues.add('too_small', path, `Too small: expected string to have >=${min} characters`);
  }
  if (value.length > max && codePoints(value) > max) issues.add('too_big', path, `Too big: expected string to have <=${max} characters`);
  if (name && !NAME_PATTERN.test(value)) issues.add('invalid_format', path, NAME_RULE);
}

/** Whether `checkString` finds nothing wrong with a name. Its pattern admits only ASCII, so length is code points. */
const isName = (value: unknown): boolean =>
  typeof value === 'string' && value.length >= 1 && value.length <= MAX_NAME_CHARS && NAME_PATTERN.test(value);
/** The same for an id: a string of 1–200 code points. */
const isId = (value: unknown): boolean =>
  typeof value === 'string' && value.length >= 1 && (value.length <= MAX_ID_CHARS || codePoints(value) <= MAX_ID_CHARS);

/** `z.number().int().nonnegative()`: a failed int check stops the rest; a bound does not. */
function checkTimestamp(issues: Issues, path: Path, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) return wrongType(issues, path, 'number', value);
  if (!Number.isInteger(value)) return wrongType(issues, path, 'int', value);
  if (value > Number.MAX_SAFE_INTEGER) issues.add('too_big', path, `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}`);
  if (value < Number.MIN_SAFE_INTEGER) issues.add('too_small', path, `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}`);
  if (value < 0) issues.add('too_small', path, 'Too small: expected number to be >=0');
}

/**
 * Whether `findJsonProblem` finds nothing in `value`, for the data of nearly
 * every message: plain recursion, no stacks or sets. Depth is bounded as
 * there, so it cannot overflow; a cycle runs into that bound and fails, and
 * `findJsonProblem` then names it.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (depth >= MAX_JSON_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key of Object.keys(value)) if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

function checkData(issues: Issues, value: unknown): void {
  if (isPlainJson(value, 0)) return;
  const problem = findJsonProblem(value);
  if (problem) issues.add('custom', ['data', ...problem.path], problem.message);
}

/** The fields of `messageSchema`. A switch, not a Set: comparing interned strings is twice as fast as hashing them. */
function isMessageKey(key: string): boolean {
  switch (key) {
    case 'type':
    case 'id':
    case 'from':
    case 'to':
    case 'correlationId':
    case 'timestamp':
    case 'action':
    case 'data':
    case 'replyTo':
    case 'error':
      return true;
    default:
      return false;
  }
}

const isErrorKey = (key: string): boolean => key === 'code' || key === 'message';

/** zod's strict-object check: every key `for…in` yields that the shape lacks, in one issue. */
function checkKeys(issues: Issues, path: Path, value: object, known: (key: string) => boolean): void {
  let unknown: string[] | undefined;
  for (const key in value) if (!known(key)) (unknown ??= []).push(key);
  if (!unknown) return;
  const listed = unknown.map((key) => `"${key}"`).join(', ');
  issues.add('unrecognized_keys', path, `Unrecognized key${unknown.length > 1 ? 's' : ''}: ${listed} (${unknown.join(', ')})`);
}

/** `messageErrorSchema`; returns its copy, or undefined when it has issues. */
function checkError(issues: Issues, value: unknown): Message['error'] {
  if (!isObject(value)) {
    wrongType(issues, ['error'], 'object', value);
    return undefined;
  }
  const before = issues.list?.length ?? 0;
  const { code, message } = value;
  checkString(issues, ['error', 'code'], code, 1, MAX_ERROR_CODE_CHARS, false);
  checkString(issues, ['error', 'message'], message, undefined, MAX_ERROR_MESSAGE_CHARS, false);
  checkKeys(issues, ['error'], value, isErrorKey);
  return (issues.list?.length ?? 0) === before ? { code: code as string, message: message as string } : undefined;
}

/**
 * Checks a message envelope as `messageSchema.safeParse` does: the parsed
 * copy (fields in the schema's order, `data` by reference) or the issues.
 */
export function checkMessage(input: unknown): { ok: true; message: Message } | { ok: false; issues: ValidationIssue[] } {
  const issues = new Issues(input);
  if (!isObject(input)) {
    wrongType(issues, [], 'object', input);
    return { ok: false, issues: issues.list! };
  }
  const { type, id, from, to, correlationId, timestamp, action, data } = input;
  if (!TYPES.has(type)) issues.add('invalid_value', ['type'], `Invalid option: expected one of ${TYPE_OPTIONS}`, type);
  if (!isId(id)) checkString(issues, ['id'], id, 1, MAX_ID_CHARS, false);
  if (!isName(from)) checkString(issues, ['from'], from, 1, MAX_NAME_CHARS, true);
  if (to !== null && !isName(to)) checkString(issues, ['to'], to, 1, MAX_NAME_CHARS, true);
  if (!isId(correlationId)) checkString(issues, ['correlationId'], correlationId, 1, MAX_ID_CHARS, false);
  if (!(typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0)) checkTimestamp(issues, ['timestamp'], timestamp);
  if (!isName(action)) checkString(issues, ['action'], action, 1, MAX_NAME_CHARS, true);
  checkData(issues, data);
  // Optional: absent is fine, and so is present but undefined.
  const hasReplyTo = 'replyTo' in input;
  const replyTo = hasReplyTo ? input.replyTo : undefined;
  if (replyTo !== undefined && !isName(replyTo)) checkString(issues, ['replyTo'], replyTo, 1, MAX_NAME_CHARS, true);
  const hasError = 'error' in input;
  const errorValue = hasError ? input.error : undefined;
  const error = errorValue === undefined ? undefined : checkError(issues, errorValue);
  checkKeys(issues, [], input, isMessageKey);
  if (issues.list) return { ok: false, issues: issues.list };

  const message = {
    type,
    id,
    from,
    to,
    correlationId,
    timestamp,
    action,
    data,
  } as Message;
  if (hasReplyTo) message.replyTo = replyTo as string | undefined;
  if (hasError) message.error = error;
  return { ok: true, message };
}
