import { createHash } from 'node:crypto';
import { NonRetryableError, type Clock, type NewTask, type Task, type TaskHandler } from '../protocol/index.js';
import type { TaskRegistry } from '../registry/index.js';

/** The smallest batch that still holds one task of every demo behaviour. */
export const MIN_DEMO_TASKS = 10;

/**
 * The demo batch's handlers: plain in-process functions, one per kind, each
 * showing one behaviour of the runtime (CPU work, waiting, a retry, a
 * permanent failure, a task that uses other tasks' results).
 */
export function demoHandlers(registry: TaskRegistry, clock: Clock): Record<string, TaskHandler> {
  return {
    'demo.checksum': async (task, { signal }) => {
      const { seed, rounds } = task.payload as { seed: string; rounds: number };
      let digest = seed;
      for (let i = 0; i < rounds; i++) {
        if (signal.aborted) throw signal.reason;
        digest = createHash('sha256').update(digest).digest('hex');
      }
      return { digest: digest.slice(0, 16), rounds };
    },
    'demo.sleep': async (task, { signal }) => {
      const { ms } = task.payload as { ms: number };
      await clock.sleep(ms, signal);
      return { sleptMs: ms };
    },
    'demo.flaky': async (task, { attempt }) => {
      if (attempt === 1) throw new Error(`transient failure on attempt ${attempt}`);
      return { recoveredOnAttempt: attempt, item: (task.payload as { item: number }).item };
    },
    'demo.broken': async () => {
      throw new NonRetryableError('this input can never be processed', 'DEMO_BAD_INPUT');
    },
    'demo.report': async (task) => {
      const inputs = await registry.getMany(task.dependsOn);
      const digests = inputs.map((t) => (t.result as { digest: string }).digest).sort();
      const rounds = inputs.reduce((sum, t) => sum + (t.result as { rounds: number }).rounds, 0);
      return { summarised: inputs.length, rounds, first: digests[0] ?? null, last: digests.at(-1) ?? null };
    },
  };
}

/**
 * `count` tasks of mixed kinds and priorities 1–10. `run` names this batch:
 * its task ids and idempotency keys start with it, so running the demo again
 * on the same store registers a new batch instead of finding the old one.
 */
export function demoBatch(count: number, run: string): NewTask[] {
  const reports = Math.max(1, Math.floor(count / 50));
  const flaky = Math.max(2, Math.floor(count / 40));
  const sleeps = Math.max(1, Math.floor(count / 5));
  const checksums = count - reports - flaky - sleeps - 1;
  const key = (label: string) => `demo:${run}:${label}`;
  const tasks: NewTask[] = [];
  const checksumIds: string[] = [];
  for (let i = 0; i < checksums; i++) {
    const taskId = `${run}-checksum-${i}`;
    checksumIds.push(taskId);
    tasks.push({
      taskId,
      kind: 'demo.checksum',
      priority: 1 + (i % 10),
      idempotencyKey: key(`checksum-${i}`),
      payload: { seed: `${run}:${i}`, rounds: 2000 + (i % 7) * 500 },
    });
  }
  for (let i = 0; i < sleeps; i++) {
    tasks.push({ kind: 'demo.sleep', priority: 10 - (i % 10), idempotencyKey: key(`sleep-${i}`), payload: { ms: 20 + (i % 9) * 20 } });
  }
  for (let i = 0; i < flaky; i++) tasks.push({ kind: 'demo.flaky', priority: 5, idempotencyKey: key(`flaky-${i}`), payload: { item: i } });
  tasks.push({ kind: 'demo.broken', priority: 3, idempotencyKey: key('broken'), payload: { note: 'fails for good' } });
  for (let r = 0; r < reports; r++) {
    const inputs = checksumIds.filter((_, i) => i % reports === r).slice(0, 25);
    tasks.push({ kind: 'demo.report', priority: 2, idempotencyKey: key(`report-${r}`), dependsOn: inputs, payload: { part: r } });
  }
  return tasks;
}

export interface DemoSummary {
  run: string;
  tasks: number;
  byStatus: Record<string, number>;
  seconds: number;
  tasksPerSecond: number;
  /** Tasks that needed more than one attempt. */
  retried: number;
  failures: { taskId: string; kind: string; code: string; message: string }[];
  reports: unknown[];
  /** True when a signal stopped the run before every task finished. */
  interrupted: boolean;
}

export function summarise(run: string, tasks: Task[], ms: number, interrupted: boolean): DemoSummary {
  const byStatus: Record<string, number> = {};
  for (const t of tasks) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
  const finished = tasks.filter((t) => t.status === 'COMPLETED' || t.status === 'FAILED').length;
  return {
    run,
    tasks: tasks.length,
    byStatus,
    seconds: Number((ms / 1000).toFixed(2)),
    tasksPerSecond: Math.round(finished / Math.max(ms / 1000, 0.001)),
    retried: tasks.filter((t) => t.attempt > 1).length,
    failures: tasks
      .filter((t) => t.status === 'FAILED')
      .map((t) => ({ taskId: t.taskId, kind: t.kind, code: t.error?.code ?? '', message: t.error?.message ?? '' })),
    reports: tasks.filter((t) => t.kind === 'demo.report' && t.status === 'COMPLETED').map((t) => t.result),
    interrupted,
  };
}

const SHOWN = 3;

export function renderSummary(s: DemoSummary): string {
  const more = (n: number) => (n > SHOWN ? [`  … and ${n - SHOWN} more`] : []);
  return [
    `Demo batch ${s.run}${s.interrupted ? ' (interrupted)' : ''}: ${s.tasks} tasks in ${s.seconds}s, ${s.tasksPerSecond} tasks/s`,
    `  by status: ${Object.entries(s.byStatus).map(([k, v]) => `${k} ${v}`).join(' · ')}`,
    `  retried: ${s.retried} (tasks that needed more than one attempt)`,
    ...s.failures.slice(0, SHOWN).map((f) => `  failed: ${f.kind} ${f.taskId}: ${f.message} [${f.code}]`),
    ...more(s.failures.length),
    ...s.reports.slice(0, SHOWN).map((r) => `  report: ${JSON.stringify(r)}`),
    ...more(s.reports.length),
  ].join('\n');
}
