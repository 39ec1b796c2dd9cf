import { createLogger, describeError, systemClock, type TimerHandle } from '../../protocol/index.js';
import { badArgument } from '../errors.js';
import { buildExperiment } from '../experiment.js';
import { ProcessStudies } from '../study-launcher.js';
import { chooseWorkload, type WorkloadFlags } from '../workload.js';
import { serveApi, type ServedApi } from '../api-server.js';
import type { TaskCounts } from '../../registry/index.js';
import { openRuntime, orClose, type Runtime } from '../runtime.js';
import { loadConfig, type CliIo, type GlobalFlags } from '../context.js';
import { Progress, SharedStderr } from '../progress.js';
import { listenForShutdown, type ShutdownRequest } from '../signals.js';
import { AGENT_NAMES, buildSystem, EXPERIMENT_AGENT_NAMES, parseAgentNames, type AgentName, type System } from '../system.js';

export interface ServeOptions extends WorkloadFlags {
  agents?: string;
  concurrency?: number;
  /** Serve the HTTP API on this port too (0: any free one). */
  port?: number;
  /** With a study: bots in this process (default none: bots join over HTTP). */
  bots?: number;
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
    const study = options.space !== undefined || options.command !== undefined || options.workload !== undefined;
    if (!study && options.campaignCommand !== undefined) throw badArgument('--campaign-command goes with a study: give --space with --command, or --workload');
    // With a study, --agents may name the experiment system's agents too (the orchestrator and monitor are then its own).
    const asked = options.agents ? parseAgentNames<string>(options.agents, study ? [...new Set([...AGENT_NAMES, ...EXPERIMENT_AGENT_NAMES])] : AGENT_NAMES) : undefined;
    const experimentAgents: ReadonlySet<string> | undefined = asked && new Set(asked.filter((n) => (EXPERIMENT_AGENT_NAMES as readonly string[]).includes(n)));
    const names = (asked ? asked.filter((n) => !(study && experimentAgents!.has(n))) : study ? [] : [...AGENT_NAMES]) as AgentName[];
    const config = loadConfig(globals, io, [
      { path: 'worker.concurrency', flag: '--concurrency', value: options.concurrency },
      { path: 'api.port', flag: '--port', value: options.port },
      { path: 'fleet.bots', flag: '--bots', value: options.bots ?? (study ? 0 : undefined) },
    ]);
    const chosen = study ? await chooseWorkload(options, config, io, systemClock) : undefined;
    // Log lines go through the progress display, so they never end up glued to its live line.
    const stderr = new SharedStderr(io.stderr);
    const runtime = await openRuntime(config, { logger: createLogger({ level: config.logLevel, destination: stderr }) });
    const system = await orClose(runtime, () => buildSystem(runtime, names, io.env));
    const { bots, ...fleet } = config.fleet;
    const experiment = chosen
      ? buildExperiment(runtime, {
          studyId: chosen.studyId,
          space: chosen.space,
          workload: chosen.workload,
          evaluator: chosen.evaluator,
          ...(chosen.campaign ? { campaign: chosen.campaign } : {}),
          experiment: config.experiment,
          fleet,
          bots: Array.from({ length: bots }, (_, i) => ({ botId: `local-${i + 1}` })),
          seed: config.experiment.seed,
          full: true,
          ...(experimentAgents ? { only: experimentAgents } : {}),
          onStandby: (driver) =>
            stderr.write(`orchestra: standing by: study ${chosen.studyId} is driven by ${driver.holder}; this process takes over if that one stops or dies (lease to ${new Date(driver.expiresAt).toISOString()})\n`),
          onTakeOver: () => stderr.write(`orchestra: took over study ${chosen.studyId}: this process drives it now\n`),
        })
      : undefined;
    // Studies asked for over HTTP run on the study's fleet beside it.
    const launched = experiment ? new ProcessStudies(runtime, experiment, io.cwd) : undefined;
    let api: ServedApi | undefined;
    try {
      // A study's bots join over HTTP: its API is served whether or not a port was asked for.
      if (options.port !== undefined || experiment) api = await serveApi(runtime, io.stderr, { required: options.port !== undefined, ...(launched ? { studies: launched } : {}) });
      await system.start();
      await experiment?.start();
      const serving = [...system.agents, ...(experiment?.agents ?? [])].map((a) => a.id);
      io.stderr.write(`orchestra: serving ${serving.join(', ')}${chosen ? ` for study ${chosen.studyId} (${chosen.what}) on ${bots} bots here and those that join` : ''}; Ctrl-C stops them\n`);
      await serveUntilSignal(runtime, experiment ? { ...system, agents: [...system.agents, ...experiment.agents], stop: async () => (await launched?.stop(), await experiment.stop(), await system.stop()) } : system, shutdown, io, stderr);
    } finally {
      await launched?.stop();
      await experiment?.stop();
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
