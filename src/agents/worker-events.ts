import type { JsonValue, OrchestraError, Task } from '../protocol/index.js';
import type { TaskFailure } from './task-failure.js';

export interface WorkerStats {
  /** Handlers running now. */
  running: number;
  /** Attempts claimed since start. */
  claimed: number;
  completed: number;
  /** Failed attempts (retried or final). */
  failed: number;
  /** Attempts cancelled or whose lease was lost while they ran, or whose report never landed. */
  lost: number;
}

export interface StopReport {
  /** Tasks whose handler ended during the grace period. */
  finished: number;
  /** Tasks given back unfinished: PENDING again at once, no attempt spent. */
  released: number;
}

/** What a live display can follow; listeners that throw are logged, never fatal. */
export interface TaskWorkerEvents {
  task_started: [task: Task];
  task_completed: [task: Task, outcome: { result: JsonValue; durationMs: number }];
  /** `retrying`: the task is PENDING for another attempt after its backoff; otherwise it is FAILED. */
  task_failed: [task: Task, outcome: { error: TaskFailure; retrying: boolean; durationMs: number }];
  task_lost: [task: Task, outcome: { reason: OrchestraError; durationMs: number }];
}
