import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { TaskWorker } from '../../agents/index.js';
import { NonRetryableError, type NewTask, type Task, type TaskHandler } from '../../protocol/index.js';
import type { TaskRegistry } from '../../registry/index.js';
import { openRuntime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { elapsed, Progress } from '../progress.js';
import { untilSignal } from '../signals.js';

export interface StartOptions {
  once?: boolean;
  tasks?: number;
  concurrency?: number;
  json?: boolean;
}

/**
 * The demo batch's handlers: plain in-process functions, one per kind, each
 * showing one behaviour of the runtime (work, a retry, a permanent failure,
 * a task that waits on others' results).
 */
function demoHandlers(registry: TaskRegistry): Record<string, TaskHandler> {
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
    'demo.flaky': async (task, { attempt }) => {
      // Fails its first attempt, to show a retry with backoff.
      if (attempt === 1) throw new Error(`transient failure on attempt ${attempt}`);
      return { recoveredOnAttempt: attempt, item: (task.payload as { item: number }).item };
    },
    'demo.broken': async () => {
      throw new NonRetryableError('this input can never be processed', 'DEMO_BAD_INPUT');
    },
    'demo.report': async (task) => {
      const inputs = await registry.getMany(task.dependsOn);
      const digests = inputs.map((t) => (t.result as { digest: string }).digest).sort();
      return { summarised: inputs.length, first: digests[0] ?? null, last: digests.at(-1) ?? null };
    },
  };
}

function demoBatch(count: number, run: string): NewTask[] {
  const tasks: NewTask[] = [];
  const checksums: string[] = [];
  const reports = Math.max(1, Math.floor(count / 50));
  const flaky = Math.max(1, Math.floor(count / 40));
  const plain = Math.max(1, count - reports - flaky - 1);
  for (let i = 0; i < plain; i++) {
    const taskId = `${run}-checksum-${i}`;
    checksums.push(taskId);
    tasks.push({ taskId, kind: 'demo.checksum', priority: 1 + (i % 10), payload: { seed: `${run}:${i}`, rounds: 2000 + (i % 7) * 500 } });
  }
  for (let i = 0; i < flaky; i++) tasks.push({ kind: 'demo.flaky', priority: 5, payload: { item: i } });
  tasks.push({ kind: 'demo.broken', priority: 3, payload: { note: 'fails for good, once' }, maxAttempts: 3 });
  for (let r = 0; r < reports; r++) {
    const inputs = checksums.filter((_, i) => i % reports === r).slice(0, 25);
    tasks.push({ kind: 'demo.report', priority: 2, dependsOn: inputs, payload: { part: r } });
  }
  return tasks;
}

/**
 * The main job: at this stage, a demo batch through the registry with
 * in-process workers, a live progress line, and a summary. With `--once` it
 * exits after the summary; otherwise the workers keep serving until stopped.
 */
export async function startCommand(globals: GlobalFlags, options: StartOptions, io: CliIo): Promise<void> {
  // The demo's flaky tasks should recover within the run, so its retries wait
  // 0.1–0.2 s rather than the default second.
  const config = loadConfig(globals, io, { 'worker.concurrency': options.concurrency, 'registry.backoffBaseMs': 200 });
  const runtime = await openRuntime(config);
  const { registry, clock } = runtime;
  const worker = new TaskWorker({
    registry,
    bus: runtime.bus,
    clock,
    logger: runtime.logger,
    handlers: demoHandlers(registry),
    config: config.worker,
    workerId: `start-${process.pid}`,
  });
  try {
    const run = randomUUID().slice(0, 8);
    const batch = demoBatch(options.tasks ?? 200, run);
    const startedAt = clock.now();
    const registered = await registry.registerMany(batch);
    const ids = registered.map((r) => r.task.taskId);
    const where = config.store.databaseUrl ? `PostgreSQL (schema ${config.store.schema})` : `embedded store in ${config.store.dataDir}`;
    io.stderr.write(`orchestra: ${ids.length} demo tasks registered in ${where}; ${config.worker.concurrency} workers running\n`);

    const progress = new Progress(() => {
      const s = worker.stats;
      const secs = (clock.now() - startedAt) / 1000;
      return `[${elapsed(startedAt, clock.now())}] ${s.completed}/${ids.length} completed · ${s.running} running · ${s.failed} failed attempts · ${Math.round(s.completed / Math.max(secs, 0.001))} tasks/s`;
    }, io.stderr);
    await worker.start();
    await waitForBatch(registry, ids, clock.sleep.bind(clock));
    progress.stop();

    const tasks = await registry.getMany(ids);
    const summary = summarise(tasks, clock.now() - startedAt);
    if (options.json) printJson(io, summary);
    else print(io, renderSummary(summary));

    if (!options.once) {
      io.stderr.write('orchestra: workers keep running and take new tasks; Ctrl-C stops them\n');
      await untilSignal();
    }
  } finally {
    await worker.stop();
    await runtime.close();
  }
}

/** Polls the batch's state: the summary waits for every task to finish, however it ends. */
async function waitForBatch(registry: TaskRegistry, ids: string[], sleep: (ms: number) => Promise<void>): Promise<void> {
  for (;;) {
    const tasks = await registry.getMany(ids);
    if (tasks.every((t) => t.status === 'COMPLETED' || t.status === 'FAILED' || t.status === 'CANCELLED')) return;
    await sleep(100);
  }
}

interface Summary {
  tasks: number;
  byStatus: Record<string, number>;
  seconds: number;
  tasksPerSecond: number;
  retried: number;
  failures: { taskId: string; kind: string; code: string; message: string }[];
  reports: unknown[];
}

function summarise(tasks: Task[], ms: number): Summary {
  const byStatus: Record<string, number> = {};
  for (const t of tasks) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
  return {
    tasks: tasks.length,
    byStatus,
    seconds: Number((ms / 1000).toFixed(2)),
    tasksPerSecond: Math.round(tasks.length / Math.max(ms / 1000, 0.001)),
    retried: tasks.filter((t) => t.attempt > 1).length,
    failures: tasks
      .filter((t) => t.status === 'FAILED')
      .map((t) => ({ taskId: t.taskId, kind: t.kind, code: t.error?.code ?? '', message: t.error?.message ?? '' })),
    reports: tasks.filter((t) => t.kind === 'demo.report').map((t) => t.result),
  };
}

function renderSummary(s: Summary): string {
  const lines = [
    `Demo batch: ${s.tasks} tasks in ${s.seconds}s (${s.tasksPerSecond} tasks/s)`,
    `  by status: ${Object.entries(s.byStatus).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  retried and recovered: ${s.retried}`,
    ...s.failures.map((f) => `  failed: ${f.kind} ${f.taskId} — ${f.code}: ${f.message}`),
    ...s.reports.map((r) => `  report: ${JSON.stringify(r)}`),
  ];
  return lines.join('\n');
}
