import path from 'node:path';
import { createLogger, systemClock, type TimerHandle } from '../../protocol/index.js';
import type { BotBehaviour } from '../../agents/index.js';
import { getStudy, latestGeneration, listBots, listGenerations, listResults, setStudyState } from '../../store/index.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { elapsed, Progress, SharedStderr } from '../progress.js';
import { formatNumber, successEstimate } from '../format.js';
import { noSuccessError } from '../outcomes.js';
import { listenForShutdown } from '../signals.js';
import { buildExperiment, type ExperimentSystem } from '../experiment.js';
import { ProcessStudies } from '../study-launcher.js';
import { bestOf } from '../../agents/index.js';
import { START_COMMAND_DEFAULTS, START_DEFAULTS } from '../defaults.js';
import { chooseWorkload } from '../workload.js';
import { serveApi, type ServedApi } from '../api-server.js';

export interface StartOptions {
  generations?: number;
  folder?: string;
  /** The user's variable space and evaluator: the study runs on them instead of a built-in workload. */
  space?: string;
  command?: string;
  /** A built-in workload: `compression` (the default) or `synthetic` (a seeded landscape over `--space`). */
  workload?: string;
  /** In-process bots; 0 leaves the tests to bots joined over HTTP. */
  bots?: number;
  /** How long one run of `--command` may take. */
  timeoutMs?: number;
  json?: boolean;
  /** `--drift on|off`: environment-change detection (experiment.drift.enabled). */
  drift?: boolean;
  /** The HTTP API's port (0: any free one); a port given here must be had. */
  port?: number;
  /** False with `--no-api`: no HTTP API. */
  api?: boolean;
}


/**
 * The main job on the configured store (the embedded default unless told
 * otherwise): the experiment system tuning the built-in compression workload
 * on a simulated fleet, generation after generation, with a live progress
 * line. `--generations N` ends after N generations with a summary; without it
 * the system runs until a signal. Run again on the same store, it resumes.
 */
export async function startCommand(globals: GlobalFlags, options: StartOptions, io: CliIo): Promise<void> {
  const shutdown = listenForShutdown();
  try {
    const config = loadConfig(
      globals,
      io,
      [
        { path: 'compression.folder', flag: '--folder', value: options.folder === undefined ? undefined : path.resolve(io.cwd, options.folder) },
        { path: 'experiment.maxGenerations', flag: '--generations', value: options.generations },
        { path: 'api.port', flag: '--port', value: options.port },
        { path: 'fleet.bots', flag: '--bots', value: options.bots },
        { path: 'experiment.drift.enabled', flag: '--drift', value: options.drift },
      ],
      options.command !== undefined ? START_COMMAND_DEFAULTS : START_DEFAULTS,
    );
    const chosen = await chooseWorkload(options, config, io, systemClock);
    const studyId = chosen.studyId;
    const { bots, ...fleetOptions } = config.fleet;
    const stderr = new SharedStderr(io.stderr);
    const runtime = await openRuntime(config, { logger: createLogger({ level: config.logLevel, destination: stderr }) });
    let api: ServedApi | undefined;
    let stopLaunched: () => Promise<void> = async () => undefined;
    try {
      const before = await figures(runtime, studyId);
      const more = config.experiment.maxGenerations;
      const study = await getStudy(runtime.db, studyId);
      if (study?.state === 'stopped') {
        // stop_test halts a study until it is asked to go on; running start again is that ask.
        await setStudyState(runtime.db, studyId, 'running', runtime.clock.now());
        stderr.write(`orchestra: study ${studyId} was stopped (stop_test); resuming it\n`);
      }
      const system = buildExperiment(runtime, {
        studyId,
        space: chosen.space,
        workload: chosen.workload,
        evaluator: chosen.evaluator,
        ...(chosen.campaign ? { campaign: chosen.campaign } : {}),
        // `--generations N` counts this run's generations; the agent counts the study's, from 0.
        experiment: { ...config.experiment, ...(more === undefined ? {} : { maxGenerations: before.generationsDone + more }) },
        fleet: fleetOptions,
        bots: chosen.simulated ? fleet(bots) : Array.from({ length: bots }, (_, i) => ({ botId: `local-${i + 1}` })),
        seed: config.experiment.seed,
        full: true,
        // One process drives a study; another started on the same store waits to take over.
        onStandby: (driver) =>
          io.stderr.write(`orchestra: standing by: study ${studyId} is driven by ${driver.holder}; this process takes over if that one stops or dies (its lease runs to ${new Date(driver.expiresAt).toISOString()} unless renewed)\n`),
        onTakeOver: () => io.stderr.write(`orchestra: took over study ${studyId}: this process drives it now\n`),
      });
      // Before the agents, so a port that cannot be had stops nothing half-started, and the event stream misses nothing.
      // Studies asked for over HTTP run on this system's fleet beside its own.
      const launched = new ProcessStudies(runtime, system, io.cwd);
      stopLaunched = () => launched.stop();
      if (options.api !== false) api = await serveApi(runtime, stderr, { required: options.port !== undefined, studies: launched });
      const startedAt = runtime.clock.now();
      await system.start();
      const where = config.store.databaseUrl ? `PostgreSQL (schema ${config.store.schema})` : `the embedded store in ${config.store.dataDir}`;
      const done = before.generationsDone;
      stderr.write(
        `orchestra: tuning ${chosen.what} on ${system.bots.length} bots${system.bots.length === 0 ? ' (waiting for bots to join: orchestra bot --api URL)' : ''}, stored in ${where}; ${
          more ? `${plural(more, 'generation')}${done ? ` after the ${done} done` : ''}` : `${done ? `resuming after ${plural(done, 'generation')}; ` : ''}Ctrl-C stops`
        }\n`,
      );
      let online = { online: 0, total: system.bots.length };
      let refresh: TimerHandle | undefined;
      const count = () => {
        void onlineBots(runtime)
          .then((counts) => (online = counts))
          .catch(() => undefined)
          .finally(() => (refresh = runtime.clock.setTimeout(count, 1000)));
      };
      count();
      const progress = new Progress(() => progressLine(system, startedAt, runtime.clock.now(), online), stderr, runtime.clock, { plainIntervalMs: config.progress.intervalMs });
      const interrupted = await Promise.race([system.variables.finished().then(() => false), shutdown.requested.then(() => true)]);
      runtime.clock.clearTimeout(refresh);
      progress.stop();
      if (interrupted) io.stderr.write(`orchestra: ${shutdown.signal}: stopping the agents; run start again to resume; a second signal exits at once\n`);
      await stopLaunched();
      await system.stop();
      // A study whose loop failed has no summary worth printing: the error is the answer (exit 1).
      if (system.variables.studyFailure) throw system.variables.studyFailure;
      const stopped = !interrupted && (await getStudy(runtime.db, studyId))?.state === 'stopped';
      const { summary, failures } = await summarise(runtime, studyId, before, runtime.clock.now() - startedAt, interrupted ? 'interrupted' : stopped ? 'stopped' : 'finished');
      if (options.json) printJson(io, summary);
      else print(io, renderSummary(summary));
      if (stopped) io.stderr.write(`orchestra: study ${studyId} was stopped (stop_test); run start again to resume it\n`);
      if (summary.run.tests > 0 && failures.length === summary.run.tests) throw noSuccessError('test of this run', failures);
    } finally {
      await stopLaunched();
      await api?.close();
      await runtime.close();
    }
  } finally {
    shutdown.dispose();
  }
}

/**
 * The simulated fleet: mostly steady bots, one slow, one that freezes now
 * and then (and is restarted after a minute of silence), one that crashes on
 * most tasks (and is isolated), so restarts and isolation happen for real.
 */
function fleet(count: number): { botId: string; behaviour?: BotBehaviour }[] {
  return Array.from({ length: count }, (_, i) => {
    const botId = `bot-${i + 1}`;
    if (count >= 4 && i === count - 1) return { botId, behaviour: { failureRate: 0.8 } };
    if (count >= 4 && i === count - 2) return { botId, behaviour: { silenceRate: 0.05, silenceMs: 90_000 } };
    if (count >= 4 && i === count - 3) return { botId, behaviour: { extraDelayMs: 200 } };
    return { botId };
  });
}

/** Bots online, of those in the fleet (in this process or joined over HTTP, and not gone offline). */
async function onlineBots(runtime: Runtime): Promise<{ online: number; total: number }> {
  const bots = (await listBots(runtime.db)).filter((b) => b.state !== 'offline');
  return { online: bots.filter((b) => b.state === 'online').length, total: bots.length };
}

function progressLine(system: ExperimentSystem, startedAt: number, now: number, { online, total }: { online: number; total: number }): string {
  const p = system.variables.progressNow;
  if (p.state === 'standby') return `[${elapsed(startedAt, now)}] standing by for the study's driver · ${online}/${total} bots online`;
  const best = p.best ? `${p.best.score.toFixed(3)} (value ${p.best.mean?.toPrecision(4) ?? '-'})` : '-';
  const tests =
    p.nextGenerationAt !== null
      ? `next generation at ${new Date(p.nextGenerationAt).toISOString()}`
      : p.testsPlanned === 0
        ? 'planning'
        : `tests ${p.testsDone}/${p.testsPlanned}`;
  return `[${elapsed(startedAt, now)}] generation ${p.generation} · ${tests} · best score ${best} · ${online}/${total} bots online`;
}

/** Where the study stood when this run began, so the summary can tell this run from the study. */
interface Figures {
  /** Generations scored; a generation cut short by a kill is finished by this run and counts as one of its own. */
  generationsDone: number;
  taskIds: Set<string>;
}

async function figures(runtime: Runtime, studyId: string): Promise<Figures> {
  const latest = await latestGeneration(runtime.db, studyId);
  const results = await listResults(runtime.db, studyId);
  return {
    generationsDone: latest ? latest.generation + (latest.state === 'scored' ? 1 : 0) : 0,
    taskIds: new Set(results.map((r) => r.taskId)),
  };
}


interface Counts {
  generations: number;
  tests: number;
  failedTests: number;
}

/** The top level counts the whole study; `run` what this run added to it. */
interface StartSummary extends Counts {
  studyId: string;
  outcome: 'finished' | 'stopped' | 'interrupted';
  run: Counts;
  best: Awaited<ReturnType<typeof bestOf>>;
  bots: { total: number; restarted: number; isolated: string[] };
  durationMs: number;
  interrupted: boolean;
}

async function summarise(runtime: Runtime, studyId: string, before: Figures, durationMs: number, outcome: StartSummary['outcome']): Promise<{ summary: StartSummary; failures: string[] }> {
  const results = await listResults(runtime.db, studyId);
  const mine = results.filter((r) => !before.taskIds.has(r.taskId));
  const bots = await listBots(runtime.db);
  const generations = (await listGenerations(runtime.db, studyId)).filter((g) => g.state === 'scored').length;
  const reasons = mine.filter((r) => !r.success).map((r) => r.reason ?? 'failed');
  const summary: StartSummary = {
    studyId,
    outcome,
    generations,
    tests: results.length,
    failedTests: results.filter((r) => !r.success).length,
    run: { generations: Math.max(0, generations - before.generationsDone), tests: mine.length, failedTests: reasons.length },
    best: await bestOf(runtime.db, studyId),
    bots: {
      total: bots.length,
      restarted: bots.reduce((n, b) => n + b.restarts, 0),
      isolated: bots.filter((b) => b.state === 'isolated').map((b) => b.botId),
    },
    durationMs,
    interrupted: outcome === 'interrupted',
  };
  return { summary, failures: reasons };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function renderSummary(s: StartSummary): string {
  const lines = [
    `${s.outcome}: ${plural(s.run.generations, 'generation')}, ${plural(s.run.tests, 'test')} (${s.run.failedTests} failed) in ${(s.durationMs / 1000).toFixed(1)}s`,
    `study ${s.studyId}: ${plural(s.generations, 'generation')}, ${plural(s.tests, 'test')} (${s.failedTests} failed) in all`,
  ];
  if (s.best) {
    lines.push(`best: ${JSON.stringify(s.best.variables)}`);
    const metrics = Object.entries(s.best.metrics).map(([k, v]) => `${k} ${formatNumber(v)}`).join(' · ');
    lines.push(`  score ${s.best.score.toFixed(3)} · value ${formatNumber(s.best.value)} · success ${(s.best.successRate * 100).toFixed(0)} % over ${s.best.tests} tests${successEstimate(s.best)}${metrics ? ` · ${metrics}` : ''}`);
  } else lines.push('best: none yet');
  lines.push(`bots: ${s.bots.total} · ${s.bots.restarted} restarts · isolated: ${s.bots.isolated.join(', ') || 'none'}`);
  return lines.join('\n');
}
