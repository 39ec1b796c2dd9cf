/**
 * `drift-false-alarms` bench: how often a whole study with drift detection on
 * (`--drift on`, the default) calls a stationary landscape changed, and how
 * often it sees a landscape that did move.
 *
 *   node --import tsx bench/drift-false-alarms.ts [--runs 20] [--drifting-runs 5] [--budgets 200,400] [--parallel 4]
 *       [--noise-scale 1] [--quiet]
 *   npm run bench -- --only drift-false-alarms [--quick]
 *
 * Each run is `orchestra optimize` as it runs a study, in this process: the
 * command's configuration (its defaults, `--budget`, `--seed`, population
 * from the budget, drift window of two generations), an in-memory store, the
 * memory bus, the real bot agent, local bots, variable agent and analysis
 * agent (buildExperiment). Only the evaluator differs: the landscapes of
 * bench/functions.ts called in process (bench/optimizer/landscapes.ts, the
 * same (seed, trial) noise the optimizer bench's evaluator program gives),
 * not a shell command per test.
 *
 * Per budget (default 200 and 400, the optimizer bench's):
 *
 * - stationary: `noisy-failing` (Gaussian noise σ 0.5, 10 % random failures,
 *   a crash region), which never moves. A run with one environment change or
 *   more is a false alarm. The goal: at most one of 20.
 * - moving: `drifting`, whose optimum moves at half the budget, as it is
 *   (noise-free) and with the stationary landscape's noise model added
 *   (σ 0.5, 10 % random failures), so a detector made deaf to noisy changes
 *   shows. A run is a detection when a change is raised at a generation
 *   holding results of the moved landscape; one raised before is a false alarm.
 *
 * Everything is seeded (seeds 1…n); the verdicts depend on generations, not
 * on timing, so the same command prints the same table.
 */
import { pathToFileURL } from 'node:url';
import { createRng, silentLogger } from '../src/protocol/index.js';
import { IN_MEMORY, listReports, listResults } from '../src/store/index.js';
import { openRuntime } from '../src/cli/runtime.js';
import { resolveConfig } from '../src/cli/config.js';
import { OPTIMIZE_DEFAULTS, OPTIMIZE_PARALLEL, optimizePopulation } from '../src/cli/defaults.js';
import { buildExperiment } from '../src/cli/experiment.js';
import type { Combination } from '../src/evolution/index.js';
import { describe, evaluate, landscape, trialSeed, type LandscapeRequest } from './optimizer/landscapes.js';
import { printTable } from './stats.js';

export const STATIONARY = 'noisy-failing';
export const DRIFTING = 'drifting';

export interface DriftRun {
  function: string;
  seed: number;
  budget: number;
  evaluations: number;
  generations: number;
  /** Generations whose analysis raised an environment change, with the trial (0-based) it was placed at. */
  changes: { generation: number; since: number | null; lastTrialOfGeneration: number }[];
  /**
   * Every generation's drift check that compared something (the elite had
   * results within the window): how close it came to a change, as the smaller
   * of drop / threshold and fall / what noise explains (both above 1: a change).
   */
  checks: { generation: number; closeness: number }[];
  /** The first trial of the moved landscape; null for a stationary one. */
  driftTrial: number | null;
  /** The generation holding that trial; null for a stationary one. */
  moveGeneration: number | null;
  seconds: number;
  /** With `keep`: the study's results and analysis reports as stored, to look into a verdict. */
  stored?: { results: Awaited<ReturnType<typeof listResults>>; reports: Awaited<ReturnType<typeof listReports>> };
}

export interface StudyOptions {
  /** `--drift on|off`; default on. */
  drift?: boolean;
  /** Local bots (`--parallel`); default optimize's. */
  parallel?: number;
  /** The landscape's own noise, this many times as large (same draws, same failures). */
  noiseScale?: number;
  /** Noise and random failures added to every test, drawn from (seed, trial) like the landscape's own. */
  extra?: { sigma: number; failureRate: number };
  /** Keep the stored results and reports in the answer. */
  keep?: boolean;
}

/** A standard normal draw (Box–Muller). */
const gaussian = (rng: { next(): number }) => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());

/** One study as `orchestra optimize --budget B --seed S --drift on|off` runs it, with the landscape evaluated in process. */
export async function runStudy(request: LandscapeRequest, options: StudyOptions = {}): Promise<DriftRun> {
  const { name, budget, seed } = request;
  const description = describe(request);
  const { exact } = landscape(request);
  const noiseScale = options.noiseScale ?? 1;
  const config = resolveConfig(
    { values: { 'experiment.budget': budget, 'experiment.seed': seed, 'experiment.drift.enabled': options.drift ?? true } },
    {},
    () => undefined,
    { commandDefaults: { ...OPTIMIZE_DEFAULTS, 'experiment.population': optimizePopulation(budget) } },
  );
  const runtime = await openRuntime(
    { ...config, store: { ...config.store, dataDir: IN_MEMORY }, bus: { ...config.bus, redisUrl: undefined } },
    { logger: silentLogger },
  );
  const started = performance.now();
  try {
    const { bots: _simulated, ...fleet } = config.fleet;
    const studyId = 'optimize';
    const system = buildExperiment(runtime, {
      studyId,
      space: description.space,
      workload: 'bench',
      evaluator: async ({ variables, trial }) => {
        const r = evaluate(request, variables as Combination, trial);
        // `--noise-scale k`: the landscape's own noise, k times as large (same draws, same failures).
        if (r.success && r.value !== null && noiseScale !== 1) r.value = exact(variables as Combination) + noiseScale * (r.value - exact(variables as Combination));
        if (r.success && r.value !== null && options.extra) {
          const rng = createRng(trialSeed(seed, trial) ^ 0x2545f491);
          if (rng.next() < options.extra.failureRate) return { success: false, value: null, metrics: {}, durationMs: 0, reason: 'failed' };
          r.value += options.extra.sigma * gaussian(rng);
        }
        return { success: r.success, value: r.value, metrics: {}, durationMs: 0, reason: r.success ? null : 'failed' };
      },
      experiment: config.experiment,
      fleet,
      bots: Array.from({ length: options.parallel ?? OPTIMIZE_PARALLEL }, (_, i) => ({ botId: `local-${i + 1}` })),
      seed,
      full: false,
    });
    await system.start();
    await system.variables.finished();
    await system.stop();
    if (system.variables.studyFailure) throw system.variables.studyFailure;
    const results = (await listResults(runtime.db, studyId)).filter((r) => r.generation >= 0);
    const reports = await listReports(runtime.db, studyId);
    const lastTrial = (g: number) => Math.max(-1, ...results.filter((r) => r.generation === g).map((r) => r.trial));
    const changes = reports
      .filter((r) => (r.report as { changed?: unknown }).changed === true)
      .map((r) => ({ generation: r.generation, since: ((r.report as { since?: unknown }).since as number | null) ?? null, lastTrialOfGeneration: lastTrial(r.generation) }));
    const threshold = config.experiment.drift.threshold;
    const checks = reports.flatMap((r) => {
      const d = (r.report as { drift?: { baseline?: number | null; recent?: number | null; drop?: number | null; explained?: number } }).drift;
      if (!d || d.baseline == null || d.recent == null || d.drop == null) return [];
      const fall = d.baseline - d.recent;
      const noise = d.explained ? fall / d.explained : fall > 0 ? Infinity : 0;
      return [{ generation: r.generation, closeness: Math.min(d.drop / threshold, noise) }];
    });
    return {
      function: name,
      seed,
      budget,
      evaluations: results.length,
      generations: reports.length,
      changes,
      checks,
      driftTrial: description.driftTrial,
      moveGeneration: description.driftTrial === null ? null : (results.find((r) => r.trial >= description.driftTrial!)?.generation ?? null),
      seconds: (performance.now() - started) / 1000,
      ...(options.keep ? { stored: { results, reports } } : {}),
    };
  } finally {
    await runtime.close();
  }
}

/** The check of a run that came nearest a change (≥ 1 is a change); 0 without checks. */
const closest = (run: DriftRun) => Math.max(0, ...run.checks.map((c) => c.closeness));
const fmtCloseness = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '∞');

export interface DriftBenchOptions {
  quick?: boolean;
  /** Stationary runs per budget (seeds 1…n). Default 20; quick 10. */
  runs?: number;
  /** Runs of each moving landscape per budget (seeds 1…n). Default 5; quick 3. */
  driftingRuns?: number;
  /** Default 200 and 400; quick: 200. */
  budgets?: number[];
  parallel?: number;
  /** The stationary landscape's noise, this many times its own (σ 0.5). Default 1. */
  noiseScale?: number;
  /** Print each run as it ends. */
  verbose?: boolean;
}

/** What a row of the table counts, per budget. */
export interface DriftBenchRow {
  budget: number;
  label: string;
  /** Whether the landscape moves (the drifting ones) or not. */
  moving: boolean;
  runs: DriftRun[];
  /** Stationary: runs with a change (false alarms). Moving: runs with a change after the move. */
  withChange: number;
  /** Moving: runs that raised a change before any result of the moved landscape. */
  early: number;
}

/** The moving landscape with the stationary one's noise model added: Gaussian noise σ 0.5 and 10 % random failures. */
const NOISY_DRIFT = { sigma: 0.5, failureRate: 0.1 } as const;

export async function driftFalseAlarmsBench(options: DriftBenchOptions = {}): Promise<DriftBenchRow[]> {
  const quick = options.quick ?? false;
  const stationaryRuns = options.runs ?? (quick ? 10 : 20);
  const driftingRuns = options.driftingRuns ?? (quick ? 3 : 5);
  const budgets = options.budgets ?? (quick ? [200] : [200, 400]);
  const parallel = options.parallel ?? OPTIMIZE_PARALLEL;
  const noiseScale = options.noiseScale ?? 1;
  const command =
    `node --import tsx bench/drift-false-alarms.ts --runs ${stationaryRuns} --drifting-runs ${driftingRuns} --budgets ${budgets.join(',')} --parallel ${parallel}` +
    (noiseScale === 1 ? '' : ` --noise-scale ${noiseScale}`);
  console.log(`\n## Drift detection: false alarms on a stationary noisy landscape, detections on a moving one`);
  console.log(`orchestra optimize studies in process (drift on, window 2 generations, population from the budget), ${parallel} local bots`);

  const rows: DriftBenchRow[] = [];
  for (const budget of budgets) {
    const cases: { label: string; name: string; options: Parameters<typeof runStudy>[1]; count: number }[] = [
      { label: noiseScale === 1 ? STATIONARY : `${STATIONARY}, noise σ ${0.5 * noiseScale}`, name: STATIONARY, options: { noiseScale }, count: stationaryRuns },
      { label: DRIFTING, name: DRIFTING, options: {}, count: driftingRuns },
      { label: `${DRIFTING} + noise σ ${NOISY_DRIFT.sigma}, ${NOISY_DRIFT.failureRate * 100} % failures`, name: DRIFTING, options: { extra: NOISY_DRIFT }, count: driftingRuns },
    ];
    for (const c of cases) {
      const row: DriftBenchRow = { budget, label: c.label, moving: c.name !== STATIONARY, runs: [], withChange: 0, early: 0 };
      for (let seed = 1; seed <= c.count; seed++) {
        const run = await runStudy({ name: c.name, budget, seed }, { parallel, ...c.options });
        row.runs.push(run);
        const move = run.driftTrial ?? Infinity;
        // A change raised at a generation holding results of the moved landscape is a detection;
        // one raised while every result was of the old landscape is a false alarm.
        if (run.changes.some((ch) => ch.lastTrialOfGeneration >= move)) row.withChange++;
        if (run.changes.some((ch) => ch.lastTrialOfGeneration < move)) row.early++;
        if (options.verbose) {
          const said = run.changes.map((ch) => `g${ch.generation}@${ch.since ?? '?'}`).join(' ') || 'none';
          console.log(
            `  budget ${budget} ${c.label} seed ${seed}: ${run.evaluations} evaluations, ${run.generations} generations, ${run.checks.length} checks (closest ${fmtCloseness(closest(run))}), changes ${said} (${run.seconds.toFixed(1)} s)`,
          );
        }
      }
      rows.push(row);
    }
  }
  const range = (xs: number[]) => (xs.length ? (Math.min(...xs) === Math.max(...xs) ? String(xs[0]) : `${Math.min(...xs)}–${Math.max(...xs)}`) : '–');
  printTable(
    'Environment changes raised by whole studies, drift on',
    ['budget', 'landscape', 'runs', 'drift checks', 'runs with a change', 'reading'],
    rows.map((row) => {
      const stationary = !row.moving;
      const checks = row.runs.reduce((n, r) => n + r.checks.length, 0);
      // The runs' closest calls, highest first: how much room the verdicts have.
      const nearest = row.runs.map(closest).sort((a, b) => b - a).slice(0, 3).map(fmtCloseness).join(', ');
      const move = describe({ name: DRIFTING, budget: row.budget, seed: 1 }).driftTrial;
      return [
        row.budget,
        row.label,
        row.runs.length,
        checks,
        `${stationary ? row.runs.filter((r) => r.changes.length > 0).length : row.withChange}/${row.runs.length}`,
        stationary
          ? `false alarms (goal: at most 1 in 20); closest calls ${nearest}`
          : `detected after the move at trial ${move}${row.early ? `; ${row.early} alarmed before it` : ''}; generations to detect ${range(row.runs.flatMap((r) => detectionDelay(r)))}`,
      ];
    }),
  );
  console.log('closest call: the smaller of drop / threshold and fall / what the noise explains, at the check nearest a change (1 or more on both is a change)');
  console.log('generations to detect: from the generation holding the first result of the moved landscape to the one whose analysis raised the change');
  console.log(`\ncommand: ${command}`);
  return rows;
}

/** Generations from the one holding the move to the first change raised at or after it. */
function detectionDelay(run: DriftRun): number[] {
  const move = run.driftTrial;
  if (move === null || move === undefined || run.moveGeneration === null) return [];
  const first = run.changes.find((c) => c.lastTrialOfGeneration >= move);
  return first ? [first.generation - run.moveGeneration] : [];
}

function main(): Promise<unknown> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const number = (name: string) => (flag(name) === undefined ? undefined : Number(flag(name)));
  return driftFalseAlarmsBench({
    quick: args.includes('--quick'),
    verbose: !args.includes('--quiet'),
    ...(number('runs') !== undefined ? { runs: number('runs')! } : {}),
    ...(number('drifting-runs') !== undefined ? { driftingRuns: number('drifting-runs')! } : {}),
    ...(flag('budgets') !== undefined ? { budgets: flag('budgets')!.split(',').map(Number) } : {}),
    ...(number('parallel') !== undefined ? { parallel: number('parallel')! } : {}),
    ...(number('noise-scale') !== undefined ? { noiseScale: number('noise-scale')! } : {}),
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
