import { randomUUID } from 'node:crypto';
import type { Task } from '../../protocol/index.js';
import { RESEARCH_KIND, WRITE_KIND } from '../../workloads/index.js';
import { openRuntime, orClose, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { elapsed, Progress } from '../progress.js';
import { listenForShutdown, type ShutdownRequest } from '../signals.js';
import { AGENT_NAMES, buildSystem, type System } from '../system.js';
import { checkTopic, DEFAULT_TOPICS, renderRound, researchTasks, summariseRound, unwritten, watchTasks, type ResearchPair } from '../research.js';
import { serveUntilSignal } from './serve.js';

export interface StartOptions {
  once?: boolean;
  topic?: string[];
  concurrency?: number;
  json?: boolean;
}

/**
 * The main job on whatever store and bus are configured (the embedded
 * default unless told otherwise): every agent in this process, one round of
 * the research → write pipeline with a live progress line and a summary,
 * then, without `--once`, serving until a signal.
 */
export async function startCommand(globals: GlobalFlags, options: StartOptions, io: CliIo): Promise<void> {
  const shutdown = listenForShutdown();
  try {
    const topics = (options.topic?.length ? options.topic : DEFAULT_TOPICS).map(checkTopic);
    const config = loadConfig(globals, io, [{ path: 'worker.concurrency', flag: '--concurrency', value: options.concurrency }]);
    const runtime = await openRuntime(config);
    const system = await orClose(runtime, () => buildSystem(runtime, AGENT_NAMES, io.env));
    try {
      await system.start();
      if (shutdown.signal) return;
      const where = config.store.databaseUrl ? `PostgreSQL (schema ${config.store.schema})` : `the embedded store in ${config.store.dataDir}`;
      const bus = config.bus.redisUrl ? 'Redis' : 'the in-process bus';
      io.stderr.write(
        `orchestra: ${system.agents.length} agents running on ${where} and ${bus} (${system.agents.map((a) => a.id).join(', ')}); searching ${system.search?.name ?? 'nothing'}\n`,
      );
      const summary = await runRound(runtime, system, topics, shutdown, io);
      if (options.json) printJson(io, summary);
      else print(io, renderRound(summary));
      if (!summary.interrupted && !options.once) await serveUntilSignal(runtime, system, shutdown, io);
      const failure = unwritten(summary);
      if (failure && !summary.interrupted) throw failure;
    } finally {
      await system.stop();
      await runtime.close();
    }
  } finally {
    shutdown.dispose();
  }
}

/** Registers a research → write pair per topic through the dispatcher and follows them to the end. */
async function runRound(runtime: Runtime, system: System, topics: string[], shutdown: ShutdownRequest, io: CliIo) {
  const { clock, registry } = runtime;
  const startedAt = clock.now();
  const run = randomUUID().slice(0, 8);
  const built = topics.map((topic, i) => researchTasks(topic, run, i));
  const pairs: ResearchPair[] = built.map((b) => b.pair);
  await system.dispatcher!.dispatch(built.flatMap((b) => b.tasks));
  let latest: Task[] = [];
  const progress = new Progress(() => roundLine(latest, startedAt, clock.now(), system), io.stderr, clock);
  const stop = new AbortController();
  void shutdown.requested.then(() => stop.abort());
  const ids = pairs.flatMap((p) => [p.researchId, p.writeId]);
  const tasks = await watchTasks(registry, clock, ids, { signal: stop.signal, onUpdate: (t) => (latest = t) });
  progress.stop();
  return summariseRound(pairs, tasks, clock.now() - startedAt, stop.signal.aborted);
}

function roundLine(tasks: Task[], startedAt: number, now: number, system: System): string {
  const of = (kind: string) => {
    const mine = tasks.filter((t) => t.kind === kind);
    return `${mine.filter((t) => t.status === 'COMPLETED').length}/${mine.length}`;
  };
  const failed = tasks.filter((t) => t.status === 'FAILED' || t.status === 'CANCELLED').length;
  const running = system.agents.filter((a) => a.state === 'running').length;
  return `[${elapsed(startedAt, now)}] researched ${of(RESEARCH_KIND)} · written ${of(WRITE_KIND)} · ${failed} failed · ${running} agents running`;
}
