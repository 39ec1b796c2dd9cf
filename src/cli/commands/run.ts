import { randomUUID } from 'node:crypto';
import { createLogger, OrchestraError, type Task } from '../../protocol/index.js';
import type { Bus } from '../../bus/index.js';
import { openRuntime, orClose, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { elapsed, Progress, SharedStderr } from '../progress.js';
import { listenForShutdown } from '../signals.js';
import { buildSystem, RESEARCHER_ID, WRITER_ID, type System } from '../system.js';
import { CliClient } from '../client.js';
import { checkTopic, researchTasks, watchTasks } from '../research.js';
import { RUN_TIMEOUT_MS } from '../defaults.js';

export interface RunResearchOptions {
  topic: string;
  timeoutMs?: number;
  json?: boolean;
}

const DEFAULT_TIMEOUT_MS = RUN_TIMEOUT_MS;
/** How long to wait for the orchestrator's directory before going ahead without it. */
const DIRECTORY_TIMEOUT_MS = 3_000;

/**
 * Registers a research → write pair and prints the report once it is written.
 * On Redis the pair goes to the system already running (`orchestra serve`);
 * on the embedded default nothing else can share the store, so this process
 * runs a researcher and a writer itself for as long as it takes.
 */
export async function runResearchCommand(globals: GlobalFlags, options: RunResearchOptions, io: CliIo): Promise<void> {
  const shutdown = listenForShutdown();
  try {
    const topic = checkTopic(options.topic);
    const config = loadConfig(globals, io);
    // Log lines go through the progress display, so they never end up glued to its live line.
    const stderr = new SharedStderr(io.stderr);
    const runtime = await openRuntime(config, { logger: createLogger({ level: config.logLevel, destination: stderr }) });
    const embedded = !config.bus.redisUrl;
    const system = embedded ? await orClose(runtime, () => buildSystem(runtime, ['researcher', 'writer'], io.env)) : undefined;
    try {
      await system?.start();
      if (!embedded) await warnIfNobodyWorks(runtime as Runtime & { bus: Bus }, io);
      const { pair, tasks } = researchTasks(topic, randomUUID().slice(0, 8), 0, 2);
      await runtime.registry.registerMany(tasks);
      io.stderr.write(`orchestra: researching "${topic}" (tasks ${pair.researchId}, ${pair.writeId})\n`);
      const startedAt = runtime.clock.now();
      let latest: Task[] = [];
      const progress = new Progress(() => pairLine(latest, startedAt, runtime.clock.now(), system), stderr, runtime.clock, { plainIntervalMs: config.progress.intervalMs });
      const stop = new AbortController();
      void shutdown.requested.then(() => stop.abort());
      const [research, write] = await watchTasks(runtime.registry, runtime.clock, [pair.researchId, pair.writeId], {
        signal: stop.signal,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        onUpdate: (t) => (latest = t),
      });
      progress.stop();
      if (write!.status === 'COMPLETED') {
        const result = write!.result as { report: string; words: number; sources: number };
        if (options.json) printJson(io, { topic, taskId: write!.taskId, ...result, durationMs: runtime.clock.now() - startedAt });
        else print(io, result.report);
        return;
      }
      throw notWritten(research!, write!, stop.signal.aborted);
    } finally {
      await system?.stop();
      await runtime.close();
    }
  } finally {
    shutdown.dispose();
  }
}

function notWritten(research: Task, write: Task, interrupted: boolean): OrchestraError {
  if (write.status === 'FAILED' || write.status === 'CANCELLED') {
    const cause = research.error && research.status !== 'COMPLETED' ? research.error : write.error;
    return new OrchestraError('ORC_CLI_TASKS_FAILED', `the report was not written: ${cause?.code ?? write.status}: ${cause?.message ?? ''}`.trim());
  }
  const why = interrupted ? 'interrupted' : 'gave up waiting';
  return new OrchestraError(
    'ORC_CLI_TASKS_FAILED',
    `${why} with research ${research.status} and write ${write.status}; the tasks go on: orchestra tasks show ${write.taskId}`,
  );
}

/** On a shared system, says so up front when nobody is there to run the pair, instead of waiting in silence. */
async function warnIfNobodyWorks(runtime: Runtime & { bus: Bus }, io: CliIo): Promise<void> {
  const client = new CliClient(runtime);
  await client.start();
  try {
    const agents = await client.listAgents(DIRECTORY_TIMEOUT_MS);
    for (const id of [RESEARCHER_ID, WRITER_ID]) {
      if (!agents.some((a) => a.agentId === id && a.state === 'running')) {
        io.stderr.write(`orchestra: no ${id} agent is running; the task waits until one starts (orchestra serve --agents ${id})\n`);
      }
    }
  } catch (err) {
    io.stderr.write(`orchestra: ${(err as Error).message}; registering anyway\n`);
  } finally {
    await client.stop();
  }
}

function pairLine(tasks: Task[], startedAt: number, now: number, system: System | undefined): string {
  const [research, write] = tasks;
  const here = system ? ` · ${system.agents.filter((a) => a.state === 'running').length} agents here` : '';
  return `[${elapsed(startedAt, now)}] research ${research?.status ?? '?'} · write ${write?.status ?? '?'}${here}`;
}
