import { FINISHED_STATUSES, OrchestraError, type Clock, type NewTask, type Task, type TaskStatus } from '../protocol/index.js';
import type { TaskRegistry } from '../registry/index.js';
import { RESEARCH_KIND, WRITE_KIND } from '../workloads/index.js';
import { badArgument } from './errors.js';

/** What `orchestra start` researches when no `--topic` is given: questions the shipped corpus can answer. */
export const DEFAULT_TOPICS = [
  'leases and fencing tokens in task queues',
  'retries with exponential backoff and jitter',
  'redis streams consumer groups',
];

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

export interface ReportSummary {
  topic: string;
  taskId: string;
  status: TaskStatus;
  words: number | null;
  sources: number | null;
  report: string | null;
  error: { code: string; message: string } | null;
}

export interface RoundSummary {
  topics: number;
  durationMs: number;
  tasks: Record<string, number>;
  reports: ReportSummary[];
  interrupted: boolean;
}

export function summariseRound(pairs: readonly ResearchPair[], tasks: readonly Task[], durationMs: number, interrupted: boolean): RoundSummary {
  const byId = new Map(tasks.map((t) => [t.taskId, t]));
  const counts: Record<string, number> = {};
  for (const t of tasks) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return {
    topics: pairs.length,
    durationMs,
    tasks: counts,
    interrupted,
    reports: pairs.map((p) => reportOf(p, byId.get(p.writeId), byId.get(p.researchId))),
  };
}

function reportOf(pair: ResearchPair, write: Task | undefined, research: Task | undefined): ReportSummary {
  const result = (write?.result ?? null) as { report?: string; words?: number; sources?: number } | null;
  // The write task's error names its dependency; the research task's error says what went wrong.
  const cause = research?.status === 'FAILED' || research?.status === 'CANCELLED' ? research.error : write?.error;
  return {
    topic: pair.topic,
    taskId: pair.writeId,
    status: write?.status ?? 'PENDING',
    words: result?.words ?? null,
    sources: result?.sources ?? null,
    report: result?.report ?? null,
    error: cause ? { code: cause.code, message: cause.message } : null,
  };
}

export function renderRound(summary: RoundSummary): string {
  const counts = Object.entries(summary.tasks).map(([status, n]) => `${n} ${status.toLowerCase()}`).join(', ');
  const lines = [
    `${summary.interrupted ? 'interrupted' : 'finished'}: ${summary.topics} topic${summary.topics === 1 ? '' : 's'} in ${(summary.durationMs / 1000).toFixed(1)}s`,
    `tasks: ${counts || 'none'}`,
    'reports:',
  ];
  for (const r of summary.reports) {
    if (r.status === 'COMPLETED') lines.push(`  ok      ${r.topic} (${r.words} words, ${r.sources} sources; orchestra tasks show ${r.taskId})`);
    else if (r.error) lines.push(`  ${r.status.toLowerCase().padEnd(7)} ${r.topic}: ${r.error.code}: ${r.error.message}`);
    else lines.push(`  ${r.status.toLowerCase().padEnd(7)} ${r.topic} (still ${r.status}; orchestra tasks show ${r.taskId})`);
  }
  return lines.join('\n');
}

/** Thrown after the summary when some report was not written, so scripts see a non-zero exit. */
export function unwritten(summary: RoundSummary): OrchestraError | undefined {
  const missing = summary.reports.filter((r) => r.status !== 'COMPLETED');
  if (missing.length === 0) return undefined;
  return new OrchestraError('ORC_CLI_TASKS_FAILED', `${missing.length} of ${summary.reports.length} reports were not written`);
}
