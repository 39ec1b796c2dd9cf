import { TaskWorker } from '../../agents/index.js';
import { commandHandler, parseExecSpec, processLauncher } from '../../workloads/index.js';
import { createLogger, type TaskHandler } from '../../protocol/index.js';
import { openRuntime, orClose } from '../runtime.js';
import { loadConfig, print, type CliIo, type GlobalFlags } from '../context.js';
import { badArgument } from '../errors.js';
import { Progress, SharedStderr } from '../progress.js';
import { listenForShutdown, stoppingNotice } from '../signals.js';

export interface WorkerCommandOptions {
  kind?: string[];
  exec?: string[];
  concurrency?: number;
  graceMs?: number;
  timeoutMs?: number;
}

/**
 * Each kind runs the command it was mapped to with `--exec`; `--kind` may
 * repeat kinds but cannot add one, because a task never carries a command.
 */
export function workerHandlers(options: WorkerCommandOptions, env: Record<string, string | undefined>): Record<string, TaskHandler> {
  const execs = (options.exec ?? []).map(parseExecSpec);
  const mapped = new Set(execs.map((e) => e.kind));
  const unmapped = (options.kind ?? []).find((k) => !mapped.has(k));
  if (unmapped) throw badArgument(`kind ${unmapped} has no command: add --exec ${unmapped}=COMMAND`);
  if (execs.length === 0) throw badArgument('a worker needs at least one --exec KIND=COMMAND');
  const handlers: Record<string, TaskHandler> = {};
  for (const { kind, command } of execs) {
    if (handlers[kind]) throw badArgument(`--exec maps kind ${kind} twice`);
    handlers[kind] = commandHandler(command, { timeoutMs: options.timeoutMs, env });
  }
  return handlers;
}

/**
 * A standalone worker: runs external commands for the kinds it is given,
 * until SIGINT or SIGTERM, then stops claiming, lets running tasks finish
 * within the grace period and gives the rest back.
 */
export async function workerCommand(globals: GlobalFlags, options: WorkerCommandOptions, io: CliIo): Promise<void> {
  const shutdown = listenForShutdown();
  try {
    const handlers = workerHandlers(options, io.env);
    // Forked now, while this process is small: the commands start from it, not from a process holding an embedded store.
    processLauncher.start();
    const config = loadConfig(globals, io, [
      { path: 'worker.concurrency', flag: '--concurrency', value: options.concurrency },
      { path: 'worker.shutdownGraceMs', flag: '--grace-ms', value: options.graceMs },
    ]);
    // Log lines go through the progress display, so they never end up glued to its live line.
    const stderr = new SharedStderr(io.stderr);
    const runtime = await openRuntime(config, { logger: createLogger({ level: config.logLevel, destination: stderr }) });
    const workerConfig = withCommandTimeouts(config.worker, Object.keys(handlers), options.timeoutMs);
    const worker = await orClose(runtime, () =>
      new TaskWorker({ registry: runtime.registry, bus: runtime.bus, clock: runtime.clock, logger: runtime.logger, handlers, config: workerConfig }),
    );
    try {
      await worker.start();
      print(io, `worker ${worker.workerId} started: kinds ${worker.kinds.join(', ')}, concurrency ${config.worker.concurrency}`);
      const progress = new Progress(() => {
        const s = worker.stats;
        return `worker ${worker.workerId}: ${s.completed} completed · ${s.failed} failed attempts · ${s.lost} lost · ${s.running} running`;
      }, stderr, runtime.clock, { plainIntervalMs: config.progress.intervalMs });
      const signal = await shutdown.requested;
      progress.stop();
      io.stderr.write(stoppingNotice(signal, worker.stats.running, config.worker.shutdownGraceMs));
      const report = await worker.stop();
      print(io, `worker ${worker.workerId} stopped on ${signal}: ${report.finished} finished during shutdown, ${report.released} released`);
    } finally {
      await worker.stop();
      await runtime.close();
    }
  } finally {
    shutdown.dispose();
  }
}

/** Past a command's own timeout, the time it gets to be killed and reported before the run timeout would step in. */
const COMMAND_TIMEOUT_MARGIN_MS = 5_000;

/**
 * A `--timeout-ms` longer than the run timeout would never be reached: the
 * run timeout would end the attempt first, with a less telling code. The
 * command's own timeout is what the operator asked for, so it decides.
 */
export function withCommandTimeouts<C extends { runTimeoutMs: number; runTimeoutMsByKind: Record<string, number> }>(
  config: C,
  kinds: readonly string[],
  commandTimeoutMs: number | undefined,
): C {
  if (commandTimeoutMs === undefined) return config;
  const byKind = { ...config.runTimeoutMsByKind };
  for (const kind of kinds) byKind[kind] = Math.max(byKind[kind] ?? config.runTimeoutMs, commandTimeoutMs + COMMAND_TIMEOUT_MARGIN_MS);
  return { ...config, runTimeoutMsByKind: byKind };
}
