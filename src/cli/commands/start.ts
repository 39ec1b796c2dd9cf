import path from 'node:path';
import { parseSpace } from '../../evolution/index.js';
import type { TimerHandle } from '../../protocol/index.js';
import type { BotBehaviour } from '../../agents/index.js';
import { listBots, listGenerations, listResults } from '../../store/index.js';
import { COMPRESSION_SPACE, compressionEvaluator } from '../../workloads/index.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { elapsed, Progress } from '../progress.js';
import { listenForShutdown } from '../signals.js';
import { buildExperiment, type ExperimentSystem } from '../experiment.js';
import { bestOf } from '../study.js';

export interface StartOptions {
  generations?: number;
  folder?: string;
  json?: boolean;
}

export const START_STUDY = 'compression';

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
      ],
      // Generations of 50 combinations tested 10 times each (the design's defaults) take minutes
      // on a laptop's fleet of 8 simulated bots; the demo keeps each to seconds unless configured otherwise.
      { 'experiment.population': 12, 'experiment.testsPerCombination': 2 },
    );
    const { bots, ...fleetOptions } = config.fleet;
    const runtime = await openRuntime(config);
    try {
      const system = buildExperiment(runtime, {
        studyId: START_STUDY,
        space: parseSpace(COMPRESSION_SPACE),
        workload: 'compression',
        evaluator: compressionEvaluator({ clock: runtime.clock, maxBytes: config.compression.maxBytes, ...(config.compression.folder ? { folder: config.compression.folder } : {}) }),
        experiment: config.experiment,
        fleet: fleetOptions,
        bots: fleet(bots),
        seed: config.experiment.seed,
        full: true,
        // One process drives a study; another started on the same store waits to take over.
        onStandby: (driver) =>
          io.stderr.write(`orchestra: standing by: study ${START_STUDY} is driven by ${driver.holder}; this process takes over if that one stops or dies (its lease runs to ${new Date(driver.expiresAt).toISOString()} unless renewed)\n`),
        onTakeOver: () => io.stderr.write(`orchestra: took over study ${START_STUDY}: this process drives it now\n`),
      });
      const startedAt = runtime.clock.now();
      await system.start();
      const where = config.store.databaseUrl ? `PostgreSQL (schema ${config.store.schema})` : `the embedded store in ${config.store.dataDir}`;
      io.stderr.write(
        `orchestra: tuning compression of ${config.compression.folder ?? "Orchestra's own sources"} on ${system.bots.length} bots, stored in ${where}; ${
          config.experiment.maxGenerations ? `${config.experiment.maxGenerations} generations` : 'Ctrl-C stops'
        }\n`,
      );
      let online = 0;
      let refresh: TimerHandle | undefined;
      const count = () => {
        void onlineBots(runtime)
          .then((n) => (online = n))
          .catch(() => undefined)
          .finally(() => (refresh = runtime.clock.setTimeout(count, 1000)));
      };
      count();
      const progress = new Progress(() => progressLine(system, startedAt, runtime.clock.now(), online), io.stderr, runtime.clock, { plainIntervalMs: config.progress.intervalMs });
      const interrupted = await Promise.race([system.variables.finished().then(() => false), shutdown.requested.then(() => true)]);
      runtime.clock.clearTimeout(refresh);
      progress.stop();
      if (interrupted) io.stderr.write(`orchestra: ${shutdown.signal}: stopping the agents; run start again to resume; a second signal exits at once\n`);
      await system.stop();
      const summary = await summarise(runtime, runtime.clock.now() - startedAt, interrupted);
      if (options.json) printJson(io, summary);
      else print(io, renderSummary(summary));
    } finally {
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

async function onlineBots(runtime: Runtime): Promise<number> {
  return (await listBots(runtime.db)).filter((b) => b.state === 'online').length;
}

function progressLine(system: ExperimentSystem, startedAt: number, now: number, online: number): string {
  const p = system.variables.progressNow;
  if (p.state === 'standby') return `[${elapsed(startedAt, now)}] standing by for the study's driver · ${online}/${system.bots.length} bots online`;
  const best = p.best ? `${p.best.score.toFixed(3)} (value ${p.best.mean?.toPrecision(4) ?? '-'})` : '-';
  const tests = p.nextGenerationAt === null ? `tests ${p.testsDone}/${p.testsPlanned}` : `next generation at ${new Date(p.nextGenerationAt).toISOString()}`;
  return `[${elapsed(startedAt, now)}] generation ${p.generation} · ${tests} · best score ${best} · ${online}/${system.bots.length} bots online`;
}

interface StartSummary {
  studyId: string;
  generations: number;
  tests: number;
  failedTests: number;
  best: Awaited<ReturnType<typeof bestOf>>;
  bots: { total: number; restarted: number; isolated: string[] };
  durationMs: number;
  interrupted: boolean;
}

async function summarise(runtime: Runtime, durationMs: number, interrupted: boolean): Promise<StartSummary> {
  const results = await listResults(runtime.db, START_STUDY);
  const bots = await listBots(runtime.db);
  return {
    studyId: START_STUDY,
    generations: (await listGenerations(runtime.db, START_STUDY)).filter((g) => g.state === 'scored').length,
    tests: results.length,
    failedTests: results.filter((r) => !r.success).length,
    best: await bestOf(runtime.db, START_STUDY),
    bots: {
      total: bots.length,
      restarted: bots.reduce((n, b) => n + b.restarts, 0),
      isolated: bots.filter((b) => b.state === 'isolated').map((b) => b.botId),
    },
    durationMs,
    interrupted,
  };
}

function renderSummary(s: StartSummary): string {
  const lines = [
    `${s.interrupted ? 'interrupted' : 'finished'}: ${s.generations} generation${s.generations === 1 ? '' : 's'}, ${s.tests} tests (${s.failedTests} failed) in ${(s.durationMs / 1000).toFixed(1)}s`,
  ];
  if (s.best) {
    lines.push(`best: ${JSON.stringify(s.best.variables)}`);
    const metrics = Object.entries(s.best.metrics).map(([k, v]) => `${k} ${Number(v.toPrecision(4))}`).join(' · ');
    lines.push(`  score ${s.best.score.toFixed(3)} · value ${s.best.value?.toPrecision(4) ?? '-'} · success ${(s.best.successRate * 100).toFixed(0)} % over ${s.best.tests} tests${metrics ? ` · ${metrics}` : ''}`);
  } else lines.push('best: none yet');
  lines.push(`bots: ${s.bots.total} · ${s.bots.restarted} restarts · isolated: ${s.bots.isolated.join(', ') || 'none'}`);
  return lines.join('\n');
}
