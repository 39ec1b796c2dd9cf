import { randomUUID } from 'node:crypto';
import { TaskWorker } from '../../agents/index.js';
import { FINISHED_STATUSES, type Clock, type NewTask, type TaskStatus } from '../../protocol/index.js';
import type { TaskRegistry } from '../../registry/index.js';
import { openRuntime, orClose } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { demoBatch, demoHandlers, renderSummary, summarise } from '../demo.js';
import { elapsed, Progress } from '../progress.js';
import { listenForShutdown, stoppingNotice, type ShutdownRequest } from '../signals.js';

export interface StartOptions {
  once?: boolean;
  tasks?: number;
  concurrency?: number;
  json?: boolean;
}

/**
 * The main job: at this stage, a demo batch through the registry with
 * in-process workers, a live progress line, and a summary. With `--once` it
 * exits after the summary; otherwise the workers keep serving until stopped.
 */
export async function startCommand(globals: GlobalFlags, options: StartOptions, io: CliIo): Promise<void> {
  const shutdown = listenForShutdown();
  try {
    // The demo's flaky tasks should recover within the run, so unless the user
    // configured otherwise its retries wait 0.1–0.2 s rather than about a second.
    const config = loadConfig(globals, io, [{ path: 'worker.concurrency', flag: '--concurrency', value: options.concurrency }], {
      'registry.backoffBaseMs': 200,
    });
    const runtime = await openRuntime(config);
    const { registry, clock } = runtime;
    const worker = await orClose(runtime, () =>
      new TaskWorker({ registry, bus: runtime.bus, clock, logger: runtime.logger, handlers: demoHandlers(registry, clock), config: config.worker }),
    );
    try {
      if (shutdown.signal) return;
      const run = randomUUID().slice(0, 8);
      const startedAt = clock.now();
      const ids = await registerInChunks(registry, demoBatch(options.tasks ?? 200, run), config.registry.maxBatchSize);
      const batch = new BatchWatch(ids);
      batch.follow(worker);
      const where = config.store.databaseUrl ? `PostgreSQL (schema ${config.store.schema})` : `the embedded store in ${config.store.dataDir}`;
      io.stderr.write(`orchestra: ${batch.size} demo tasks registered in ${where}; ${config.worker.concurrency} workers running\n`);

      await worker.start();
      const progress = new Progress(() => {
        const secs = (clock.now() - startedAt) / 1000;
        return `[${elapsed(startedAt, clock.now())}] ${batch.done}/${batch.size} done · ${worker.stats.running} running · ${batch.count('FAILED')} failed · ${Math.round(batch.done / Math.max(secs, 0.001))} tasks/s`;
      }, io.stderr, clock);
      const stopWatching = new AbortController();
      const watching = batch.untilFinished(registry, clock, stopWatching.signal);
      const finished = await Promise.race([watching.then(() => true), shutdown.requested.then(() => false)]);
      stopWatching.abort();
      await watching.catch(() => undefined);
      progress.stop();
      if (!finished) {
        io.stderr.write(stoppingNotice(shutdown.signal!, worker.stats.running, worker.config.shutdownGraceMs));
        await worker.stop();
      }

      const summary = summarise(run, await registry.getMany(batch.ids), clock.now() - startedAt, !finished);
      if (options.json) printJson(io, summary);
      else print(io, renderSummary(summary));

      if (finished && !options.once) await serve(worker, shutdown, io, clock);
    } finally {
      await worker.stop();
      await runtime.close();
    }
  } finally {
    shutdown.dispose();
  }
}

/**
 * A registration is bounded (`registry.maxBatchSize`); a larger demo goes in
 * order, in chunks, so each report's dependencies are committed before it.
 */
async function registerInChunks(registry: TaskRegistry, tasks: NewTask[], size: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < tasks.length; i += size) {
    const registered = await registry.registerMany(tasks.slice(i, i + size));
    ids.push(...registered.map((r) => r.task.taskId));
  }
  return ids;
}

/** After the batch: the workers keep taking demo tasks until a signal. */
async function serve(worker: TaskWorker, shutdown: ShutdownRequest, io: CliIo, clock: Clock): Promise<void> {
  io.stderr.write(`orchestra: workers keep taking ${worker.kinds.join(', ')} tasks; Ctrl-C stops them\n`);
  const base = worker.stats;
  const progress = new Progress(() => {
    const s = worker.stats;
    return `serving: ${s.completed - base.completed} completed · ${s.failed - base.failed} failed attempts · ${s.running} running`;
  }, io.stderr, clock);
  const signal = await shutdown.requested;
  progress.stop();
  io.stderr.write(stoppingNotice(signal, worker.stats.running, worker.config.shutdownGraceMs));
  const report = await worker.stop();
  io.stderr.write(`orchestra: stopped on ${signal}: ${report.finished} finished during shutdown, ${report.released} released\n`);
}

/**
 * The batch's state. The in-process worker reports the tasks it finishes as
 * they finish; a poll of the registry catches the rest (a dependent failed
 * with its dependency, a task another process ran) and decides when the batch
 * is over. The poll reads a bounded window of unfinished tasks, so its cost
 * does not grow with the batch.
 */
class BatchWatch {
  private readonly unfinished: Set<string>;
  private readonly finished = new Map<TaskStatus, number>();

  constructor(
    readonly ids: string[],
    private readonly window = 500,
  ) {
    this.unfinished = new Set(ids);
  }

  get size(): number {
    return this.ids.length;
  }

  get done(): number {
    return this.size - this.unfinished.size;
  }

  count(status: TaskStatus): number {
    return this.finished.get(status) ?? 0;
  }

  /** Follows the worker's events; a retry's failed attempt does not finish its task. */
  follow(worker: TaskWorker): void {
    worker.on('task_completed', (task) => this.record(task.taskId, 'COMPLETED'));
    worker.on('task_failed', (task, outcome) => {
      if (!outcome.retrying) this.record(task.taskId, 'FAILED');
    });
  }

  /** Resolves when every task has finished; stops early, quietly, when `signal` aborts. */
  async untilFinished(registry: TaskRegistry, clock: Clock, signal: AbortSignal, pollMs = 250): Promise<void> {
    while (this.unfinished.size > 0 && !signal.aborted) {
      const tasks = await registry.getMany([...this.unfinished].slice(0, this.window));
      for (const t of tasks) if (FINISHED_STATUSES.includes(t.status)) this.record(t.taskId, t.status);
      if (this.unfinished.size > 0) await clock.sleep(pollMs, signal).catch(() => undefined);
    }
  }

  private record(taskId: string, status: TaskStatus): void {
    if (this.unfinished.delete(taskId)) this.finished.set(status, this.count(status) + 1);
  }
}
