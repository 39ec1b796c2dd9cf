import type { JsonValue } from './json.js';
import type { Task } from './task.js';
import { isErrorCode, OrchestraError } from './errors.js';

export interface TaskContext {
  /** Aborted when the task is cancelled, its lease is lost, or the worker shuts down. */
  signal: AbortSignal;
  workerId: string;
  /** This attempt's number (its fencing token). */
  attempt: number;
  /**
   * The tasks this one depends on, as the registry holds them now: all
   * COMPLETED with their results, since a task is claimable only then. How a
   * pipeline step reads what the steps before it produced.
   */
  dependencies(): Promise<Task[]>;
}

/**
 * What a worker runs for a task of one kind: an in-process function, or an
 * external command wrapped by `workloads`. Resolve with the result; throw to
 * fail the attempt (a `NonRetryableError` fails the task at once).
 */
export type TaskHandler = (task: Task, context: TaskContext) => Promise<JsonValue | void>;

/**
 * Thrown by a handler when trying again cannot help (bad input, a missing
 * file): the task fails now instead of after its remaining attempts.
 */
export class NonRetryableError extends OrchestraError {
  /**
   * The code the task's error records: the handler's own (`E_INPUT`, say),
   * for scripts to match on. `code` is Orchestra's: that one when it is in the
   * table, `ORC_WORKER_HANDLER_FAILED` otherwise.
   */
  readonly taskCode: string;
  constructor(message: string, code: string = 'ORC_WORKER_HANDLER_FAILED', readonly details?: Record<string, JsonValue>) {
    super(isErrorCode(code) ? code : 'ORC_WORKER_HANDLER_FAILED', message, false);
    this.taskCode = code;
  }
}

/** Whether a handler's error should be tried again: yes unless it says otherwise. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof OrchestraError) return err.retryable;
  if (err && typeof err === 'object' && 'retryable' in err) return (err as { retryable: unknown }).retryable !== false;
  return true;
}
