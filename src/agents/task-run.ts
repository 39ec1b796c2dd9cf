import { OrchestraError, type Task } from '../protocol/index.js';
import type { Lease } from '../registry/index.js';

/** One attempt this worker is running or reporting. */
export interface Run {
  key: string;
  task: Task;
  startedAtMs: number;
  /** When the handler started, on the monotonic clock (`performance.now()`). */
  startedAtMonotonicMs: number;
  controller: AbortController;
  /** `reporting` once the handler settled: from then on only the registry's answer decides the outcome. */
  phase: 'handler' | 'reporting';
  /** Why the attempt stopped being ours while its handler ran (cancelled, lease lost). */
  lostReason?: OrchestraError;
  /** Given back at shutdown: whatever its handler ends with is not reported. */
  released: boolean;
  /** The report that ended it also claimed for its slot and found nothing, so freeing the slot need not claim. */
  slotClaimed: boolean;
  done: Promise<void>;
}

export const runKey = (taskId: string, attempt: number) => `${taskId}#${attempt}`;
export const leaseOf = (task: Task): Lease => ({ taskId: task.taskId, attempt: task.attempt });
export const leaseLost = (task: Task) => new OrchestraError('ORC_REGISTRY_LEASE_LOST', `task ${task.taskId}: attempt ${task.attempt} lost its lease`);

/**
 * Splits the runs whose leases this worker still claims into the newest
 * attempt of each task, which is renewed, and older attempts of the same task,
 * which lost their lease when this worker claimed the task again (while their
 * handler was still winding down). Renewal reports lost leases by task id, so
 * the older ones must be told apart here.
 */
export function newestAttempts(runs: Iterable<Run>): { newest: Run[]; superseded: Run[] } {
  const byTask = new Map<string, Run>();
  const superseded: Run[] = [];
  for (const run of runs) {
    if (run.lostReason || run.released) continue;
    const other = byTask.get(run.task.taskId);
    if (other && other.task.attempt > run.task.attempt) superseded.push(run);
    else {
      if (other) superseded.push(other);
      byTask.set(run.task.taskId, run);
    }
  }
  return { newest: [...byTask.values()], superseded };
}
