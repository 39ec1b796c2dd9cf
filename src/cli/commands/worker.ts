import { TaskWorker } from '../../agents/index.js';
import { commandHandler, parseExecSpec } from '../../workloads/index.js';
import type { TaskHandler } from '../../protocol/index.js';
import { openRuntime } from '../runtime.js';
import { loadConfig, print, type CliIo, type GlobalFlags } from '../context.js';
import { badArgument } from '../errors.js';
import { Progress } from '../progress.js';
import { untilSignal } from '../signals.js';

export interface WorkerCommandOptions {
  kind?: string[];
  exec?: string[];
  concurrency?: number;
  graceMs?: number;
  timeoutMs?: number;
}

/**
 * A standalone worker: runs external commands for the kinds it is given,
 * until SIGINT or SIGTERM, then shuts down gracefully.
 */
export async function workerCommand(globals: GlobalFlags, options: WorkerCommandOptions, io: CliIo): Promise<void> {
  const execs = (options.exec ?? []).map(parseExecSpec);
  if (execs.length === 0) throw badArgument('a worker needs at least one --exec KIND=COMMAND');
  const handlers: Record<string, TaskHandler> = {};
  for (const { kind, command } of execs) {
    if (handlers[kind]) throw badArgument(`--exec gives kind ${kind} twice`);
    handlers[kind] = commandHandler(command, { timeoutMs: options.timeoutMs, env: io.env });
  }
  const unmapped = (options.kind ?? []).find((k) => !handlers[k]);
  if (unmapped) throw badArgument(`kind ${unmapped} has no --exec ${unmapped}=COMMAND: a worker only runs commands it was configured with`);

  const config = loadConfig(globals, io, {
    'worker.concurrency': options.concurrency,
    'worker.shutdownGraceMs': options.graceMs,
  });
  const runtime = await openRuntime(config);
  const worker = new TaskWorker({
    registry: runtime.registry,
    bus: runtime.bus,
    clock: runtime.clock,
    logger: runtime.logger,
    handlers,
    config: config.worker,
  });
  try {
    await worker.start();
    print(io, `worker ${worker.workerId} started: kinds ${worker.kinds.join(', ')}, concurrency ${config.worker.concurrency}`);
    const progress = new Progress(() => {
      const s = worker.stats;
      return `worker ${worker.workerId}: ${s.completed} completed · ${s.failed} failed · ${s.lost} lost · ${s.running} running`;
    }, io.stderr);
    const signal = await untilSignal();
    progress.stop();
    const report = await worker.stop();
    print(io, `worker ${worker.workerId} stopped on ${signal}: ${report.finished} finished during shutdown, ${report.released} released`);
  } finally {
    await worker.stop();
    await runtime.close();
  }
}
