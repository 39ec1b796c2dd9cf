import { createLogger, describeError, type TimerHandle } from '../../protocol/index.js';
import { serveApi, type ServedApi } from '../api-server.js';
import type { TaskCounts } from '../../registry/index.js';
import { openRuntime, orClose, type Runtime } from '../runtime.js';
import { loadConfig, type CliIo, type GlobalFlags } from '../context.js';
import { Progress, SharedStderr } from '../progress.js';
import { listenForShutdown, type ShutdownRequest } from '../signals.js';
import { AGENT_NAMES, buildSystem, parseAgentNames, type System } from '../system.js';

export interface ServeOptions {
  agents?: string;
  concurrency?: number;
  /** Serve the HTTP API on this port too (0: any free one). */
  port?: number;
}

/** How often the serving line re-reads the task counts. */
const COUNTS_EVERY_MS = 2_000;

/**
 * Runs agents until SIGINT or SIGTERM: all of them by default, or the ones
 * `--agents` names, so a deployment can put researchers on one machine and
 * writers on another, all sharing one Redis and one PostgreSQL.
 */
export async function serveCommand(globals: GlobalFlags, options: ServeOptions, io: CliIo): Promise<void> {
  const shutdown = listenForShutdown();
  try {
    const names = options.agents ? parseAgentNames(options.agents) : [...AGENT_NAMES];
    const config = loadConfig(globals, io, [
      { path: 'worker.concurrency', flag: '--concurrency', value: options.concurrency },
      { path: 'api.port', flag: '--port', value: options.port },
    ]);
    // Log lines go through the progress display, so they never end up glued to its live line.
    const stderr = new SharedStderr(io.stderr);
    const runtime = await openRuntime(config, { logger: createLogger({ level: config.logLevel, destination: stderr }) });
    const system = await orClose(runtime, () => buildSystem(runtime, names, io.env));
    let api: ServedApi | undefined;
    try {
      await system.start();
      if (options.port !== undefined) api = await serveApi(runtime, io.stderr, { required: true });
      io.stderr.write(`orchestra: serving ${system.agents.map((a) => a.id).join(', ')}; Ctrl-C stops them\n`);
      await serveUntilSignal(runtime, system, shutdown, io, stderr);
    } finally {
      await api?.close();
      await system.stop();
      await runtime.close();
    }
  } finally {
    shutdown.dispose();
  }
}

/** Shows what the system is doing, on one line, until the first signal; then stops the agents. */
export async function serveUntilSignal(runtime: Runtime, system: System, shutdown: ShutdownRequest, io: CliIo, stderr: SharedStderr = new SharedStderr(io.stderr)): Promise<void> {
  const { clock, registry, logger } = runtime;
  let counts: TaskCounts | undefined;
  let timer: TimerHandle | undefined;
  const refresh = async () => {
    try {
      counts = await registry.counts();
    } catch (err) {
      logger.warn({ err: describeError(err) }, 'could not count tasks');
    }
    if (!shutdown.signal) timer = clock.setTimeout(() => void refresh(), COUNTS_EVERY_MS);
  };
  await refresh();
  const progress = new Progress(() => serveLine(system, counts), stderr, clock, { plainIntervalMs: runtime.config.progress.intervalMs });
  const signal = await shutdown.requested;
  clock.clearTimeout(timer);
  progress.stop();
  io.stderr.write(`orchestra: ${signal}: stopping ${system.agents.length} agents; running tasks get ${runtime.config.worker.shutdownGraceMs} ms to finish; a second signal exits at once\n`);
  await system.stop();
  io.stderr.write(`orchestra: stopped on ${signal}\n`);
}

function serveLine(system: System, counts: TaskCounts | undefined): string {
  const running = system.agents.filter((a) => a.state === 'running').length;
  const tasks = counts
    ? `${counts.byStatus.PENDING} pending · ${counts.byStatus.RUNNING} running · ${counts.byStatus.COMPLETED} completed · ${counts.byStatus.FAILED} failed`
    : 'task counts unavailable';
  const handled = system.workers.map((w) => `${w.id} ${w.worker.stats.completed}`).join(' · ');
  return `serving: ${running}/${system.agents.length} agents · ${tasks}${handled ? ` · done here: ${handled}` : ''}`;
}
