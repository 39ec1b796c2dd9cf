import { encodedSize, findUnstorableText, type JsonValue } from '../protocol/index.js';
import type { Failure } from './registry.js';

/**
 * Why a reported result cannot be stored, as the failure to record instead,
 * or undefined when it can. Without this a result the store refuses would fail
 * every report until the lease ran out, the task would run again for nothing,
 * and its output would be lost behind a timeout. Running it again gives the
 * same output, so the failure is final.
 */
export function resultRefusal(result: JsonValue | null, maxResultBytes: number): Failure['error'] | undefined {
  if (result === null) return undefined;
  const bytes = encodedSize(result);
  if (bytes > maxResultBytes) {
    return {
      code: 'ORC_PROTOCOL_TOO_LARGE',
      message: `result: ${bytes} bytes encoded, more than registry.maxResultBytes (${maxResultBytes})`,
      retryable: false,
      details: { field: 'result', bytes, limit: maxResultBytes },
    };
  }
  const unstorable = findUnstorableText(result);
  if (unstorable) {
    const field = ['result', ...unstorable.path].join('.');
    return { code: 'ORC_PROTOCOL_UNSTORABLE_TEXT', message: `${field}: ${unstorable.message}`, retryable: false, details: { field } };
  }
  return undefined;
}
