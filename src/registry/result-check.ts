import { encodedSize, findUnstorableText, type JsonValue } from '../protocol/index.js';
import type { ReportOutcome } from '../store/index.js';
import type { Completion, Failure, Outcome } from './registry.js';

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

/** Outcomes in the order of `completions`: refused results where they were, the store's answers for the rest. */
export function mergeOutcomes(completions: readonly Completion[], refused: ReadonlyMap<number, Outcome>, stored: readonly ReportOutcome[]): Outcome[] {
  if (refused.size === 0) return stored.map((o) => ({ taskId: o.taskId, accepted: o.accepted, status: o.accepted ? ('COMPLETED' as const) : null }));
  const byTask = new Map(stored.map((o) => [o.taskId, o]));
  return completions.map((c, index) => {
    const r = refused.get(index);
    if (r) return r;
    const accepted = byTask.get(c.taskId)?.accepted ?? false;
    return { taskId: c.taskId, accepted, status: accepted ? ('COMPLETED' as const) : null };
  });
}
