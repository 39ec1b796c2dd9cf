import { FINISHED_STATUSES, type Clock, type NewTask, type Task } from '../protocol/index.js';
import type { TaskRegistry } from '../registry/index.js';
import { RESEARCH_KIND, WRITE_KIND } from '../workloads/index.js';
import { badArgument } from './errors.js';

const MAX_TOPIC_CHARS = 500;

export function checkTopic(topic: string): string {
  const trimmed = topic.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_TOPIC_CHARS) {
    throw badArgument(`--topic must hold 1 to ${MAX_TOPIC_CHARS} characters, not ${trimmed.length}`);
  }
  return trimmed;
}

export interface ResearchPair {
  topic: string;
  researchId: string;
  writeId: string;
}

/**
 * The two tasks of one topic: research, and a write task that depends on it.
 * Registered together, so both exist or neither does; the registry fails the
 * write task with the research task's failure, so no writer waits forever.
 */
export function researchTasks(topic: string, run: string, index: number, priority = 3): { pair: ResearchPair; tasks: NewTask[] } {
  const pair = { topic, researchId: `research-${run}-${index}`, writeId: `write-${run}-${index}` };
  return {
    pair,
    tasks: [
      { taskId: pair.researchId, kind: RESEARCH_KIND, payload: { topic }, priority },
      { taskId: pair.writeId, kind: WRITE_KIND, payload: { topic }, priority, dependsOn: [pair.researchId] },
    ],
  };
}

export interface WatchOptions {
  signal?: AbortSignal;
  /** Give up waiting after this long (the tasks go on; their ids are printed). */
  timeoutMs?: number;
  pollMs?: number;
  onUpdate?: (tasks: Task[]) => void;
}

/**
 * Polls the registry until every task in `ids` has finished, the timeout
 * passes, or `signal` aborts; returns the tasks as last read. The registry is
 * the truth, so this works whichever process runs the tasks.
 */
export async function watchTasks(registry: TaskRegistry, clock: Clock, ids: readonly string[], options: WatchOptions = {}): Promise<Task[]> {
  const deadline = options.timeoutMs === undefined ? Infinity : clock.now() + options.timeoutMs;
  for (;;) {
    const tasks = await registry.getMany(ids);
    options.onUpdate?.(tasks);
    const done = tasks.every((t) => FINISHED_STATUSES.includes(t.status));
    if (done || options.signal?.aborted || clock.now() >= deadline) return tasks;
    await clock.sleep(Math.min(options.pollMs ?? 200, Math.max(deadline - clock.now(), 1)), options.signal).catch(() => undefined);
  }
}
