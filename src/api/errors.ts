import { describeError, OrchestraError, type ErrorCode } from '../protocol/index.js';

/** The body of every error the API answers with. */
export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export class ApiError extends OrchestraError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(code, message);
  }
}

const CONFLICTS = new Set<string>([
  'ORC_REGISTRY_IDEMPOTENCY_CONFLICT',
  'ORC_REGISTRY_DUPLICATE_TASK_ID',
  'ORC_REGISTRY_INVALID_TRANSITION',
  'ORC_REGISTRY_LEASE_LOST',
  'ORC_STORE_DUPLICATE_KEY',
]);
const BAD_INPUT = new Set<string>(['ORC_REGISTRY_UNKNOWN_DEPENDENCY', 'ORC_REGISTRY_DEPENDENCY_CYCLE', 'ORC_STORE_UNSTORABLE_VALUE', 'ORC_STORE_LIMIT_EXCEEDED', 'ORC_CONFIG_INVALID']);
const UNAVAILABLE = new Set<string>(['ORC_API_UNAVAILABLE', 'ORC_STORE_UNREACHABLE', 'ORC_BUS_UNREACHABLE', 'ORC_STORE_DISK_FULL', 'ORC_STORE_OUT_OF_MEMORY', 'ORC_STORE_OUT_OF_RESOURCES', 'ORC_BUS_REQUEST_TIMEOUT']);

/** The HTTP status that fits an Orchestra error code. */
export function statusFor(code: string): number {
  if (code.endsWith('_NOT_FOUND')) return 404;
  if (CONFLICTS.has(code)) return 409;
  if (code === 'ORC_PROTOCOL_TOO_LARGE' || code === 'ORC_API_TOO_LARGE') return 413;
  if (code.startsWith('ORC_PROTOCOL_') || BAD_INPUT.has(code)) return 400;
  if (UNAVAILABLE.has(code)) return 503;
  return 500;
}

/** An error as the API answers it: its status and `{code, message, details}`. */
export function toApiError(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof ApiError) return { status: err.status, body: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } };
  const { code, message } = describeError(err);
  const issues = (err as { issues?: unknown }).issues;
  const known = err instanceof OrchestraError;
  const status = known ? statusFor(code) : 500;
  return {
    status,
    body: {
      code: known ? code : 'ORC_API_INTERNAL',
      // An unexpected error's text may hold internals: the log has it, the client a plain sentence.
      message: status === 500 && !known ? 'the server failed to answer this request; its log says why' : message,
      ...(Array.isArray(issues) ? { details: { issues } } : {}),
    },
  };
}
