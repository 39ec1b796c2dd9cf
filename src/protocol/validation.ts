import type { z } from 'zod';
import { OrchestraError, type ErrorCode } from './errors.js';

export interface ValidationIssue {
  /** Dotted path to the offending field (`data.priority`, `dependsOn.2`), `(root)` for the value itself. */
  path: string;
  code: ErrorCode;
  message: string;
}

/** A value failed its schema. `issues` names every field that was wrong. */
export class ValidationError extends OrchestraError {
  constructor(
    readonly subject: string,
    readonly issues: ValidationIssue[],
  ) {
    const first = issues[0];
    const where = first ? `${first.path}: ${first.message}` : 'invalid';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(first?.code ?? 'ORC_PROTOCOL_INVALID_VALUE', `invalid ${subject}: ${where}${more}`);
  }
}

/** Whether `value` has an own, defined property at `path`: a field that is absent is missing, one that is there is of a wrong type or value. */
export function hasPath(value: unknown, path: readonly PropertyKey[]): boolean {
  let current: unknown = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return false;
    if (!Object.prototype.hasOwnProperty.call(current, key)) return false;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current !== undefined;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = value;
  for (const key of path) current = (current as Record<PropertyKey, unknown>)[key];
  return current;
}

const typeOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

function codeFor(issue: z.core.$ZodIssue, input: unknown): ErrorCode {
  if (issue.code !== 'unrecognized_keys' && !hasPath(input, issue.path)) return 'ORC_PROTOCOL_MISSING_FIELD';
  switch (issue.code) {
    case 'invalid_type':
      return 'ORC_PROTOCOL_WRONG_TYPE';
    case 'too_big':
    case 'too_small':
      return 'ORC_PROTOCOL_OUT_OF_RANGE';
    case 'unrecognized_keys':
      return 'ORC_PROTOCOL_UNKNOWN_FIELD';
    case 'invalid_value': {
      // `"type": 7` is a wrong type, `"type": "reqest"` a wrong value.
      const given = typeOf(valueAt(input, issue.path));
      return issue.values.some((allowed) => typeOf(allowed) === given) ? 'ORC_PROTOCOL_INVALID_VALUE' : 'ORC_PROTOCOL_WRONG_TYPE';
    }
    default:
      return 'ORC_PROTOCOL_INVALID_VALUE';
  }
}

export function toValidationError(subject: string, error: z.ZodError, input: unknown): ValidationError {
  const issues = error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    return { path, code: codeFor(issue, input), message: issue.message + keys };
  });
  return new ValidationError(subject, issues);
}

/** Parses `input` with `schema`, throwing a `ValidationError` that names the field. */
export function parseWith<S extends z.ZodType>(schema: S, subject: string, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw toValidationError(subject, parsed.error, input);
  return parsed.data;
}

/** JSON.parse with a stable code instead of a SyntaxError. */
export function parseJson(subject: string, text: string, maxBytes?: number): unknown {
  if (maxBytes !== undefined && Buffer.byteLength(text) > maxBytes) {
    throw new ValidationError(subject, [
      { path: '(root)', code: 'ORC_PROTOCOL_TOO_LARGE', message: `larger than ${maxBytes} bytes` },
    ]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(subject, [
      { path: '(root)', code: 'ORC_PROTOCOL_INVALID_JSON', message: (err as Error).message },
    ]);
  }
}
