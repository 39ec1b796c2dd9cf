/**
 * `optimizer` bench: `orchestra optimize`, called exactly as a user calls it
 * (a child process per run, the evaluator a shell command started once per
 * test), against random search, Optuna's TPE and CMA-ES and a DEAP genetic
 * algorithm calling the same evaluator the same way, on the landscapes of
 * bench/functions.ts.
 *
 *   npm run bench -- --only optimizer [--quick]
 *   node --import tsx bench/optimizer/index.ts [--quick] [--seeds 5] [--budgets 100,400] [--functions a,b]
 *       [--max-minutes 150] [--dist] [--no-baselines]
 *
 * Regret = |value − optimum| of the recommended combination, noise-free, on
 * the landscape as it is at the end. At most two runs go at once (the bench
 * machine has two cores; an Orchestra run itself tests four at a time).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printTable } from '../stats.js';
import { findPython, runBaselines, type BaselineRun, type Method } from './baselines.js';
import { bundleLandscapes } from './bundle.js';
import { checkBundle, EVALUATOR_SCRIPT, type Evaluator } from './evaluator-command.js';
import { describe, names } from './landscapes.js';
import { runOrchestra, type OrchestraRun } from './orchestra.js';
import { compare, fmtRegret, orchestraDetail, OPTIMIZERS, TITLES, VERDICT_COLUMNS, type Regret } from './report.js';

export interface OptimizerBenchOptions {
  quick?: boolean;
  /** Default 100 and 400; quick: 100. */
  budgets?: number[];
  /** Seeds 1…n. Default 5; quick: 3. */
  seeds?: number;
  /** Landscapes by name; default all of bench/functions.ts. */
  functions?: string[];
  /** `--parallel` of every Orchestra run. */
  parallel?: number;
  /** No run starts after this; the table then shows what finished. Default 150; quick 30 (sized for a busy 2-core machine). */
  maxMinutes?: number;
  /** Run `node dist/cli/main.js` (after `npm run build`) instead of the sources through tsx. */
  dist?: boolean;
  /**
   * Default true. Without them only Orchestra runs (about a sixth of the time): for
   * trying a change to the search against the baselines of an earlier run, which are
   * seeded and do not depend on Orchestra's code, so they come out the same.
   */
  baselines?: boolean;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Two cores: one Orchestra run and one baseline, or two of either. */
const CONCURRENT_RUNS = 2;

const SOURCE_CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const DIST_CLI = ['dist/cli/main.js'];

function orchestraAvailable(dist: boolean): boolean {
  const file = dist ? 'dist/cli/program.js' : 'src/cli/program.ts';
  try {
    return readFileSync(join(REPO_ROOT, file), 'utf8').includes("'optimize'");
  } catch {
    return false;
  }
}

type Job = { label: string; run: () => Promise<void> };

export async function optimizerBench(options: OptimizerBenchOptions = {}): Promise<void> {
  const quick = options.quick ?? false;
  const budgets = options.budgets ?? (quick ? [100] : [100, 400]);
  const seeds = options.seeds ?? (quick ? 3 : 5);
  const parallel = options.parallel ?? 4;
  const deadlineMs = (options.maxMinutes ?? (quick ? 30 : 150)) * 60_000;
  const functions = options.functions ?? names(budgets[0]!);
  const unknown = functions.filter((f) => !names(budgets[0]!).includes(f));
  if (unknown.length) throw new Error(`unknown landscape(s) ${unknown.join(', ')}; bench/functions.ts has ${names(budgets[0]!).join(', ')}`);
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 60_000).toFixed(1)} min`;

  console.log(`\n## Optimizer: orchestra optimize vs random search, Optuna TPE and CMA-ES, and a DEAP GA`);
  console.log(`budgets ${budgets.join(', ')}; seeds 1–${seeds}; ${functions.length} landscapes; orchestra --parallel ${parallel}; ${CONCURRENT_RUNS} runs at a time`);

  const landscapes = await bundleLandscapes();
  await checkBundle(landscapes, budgets);
  const evaluator: Evaluator = { script: EVALUATOR_SCRIPT, landscapes };
  const workDir = dirname(landscapes);
  console.log(`evaluator: node bench/optimizer/evaluator.mjs on a bundle of bench/functions.ts (checked identical); runs kept in ${workDir}`);

  const dist = options.dist ?? false;
  const withOrchestra = orchestraAvailable(dist);
  if (!withOrchestra) console.log(`Orchestra side SKIPPED: ${dist ? 'dist/cli/program.js (run npm run build)' : 'src/cli/program.ts'} has no \`optimize\` command yet.`);
  const python = options.baselines === false ? ({ ok: false, why: 'left out (--no-baselines)' } as const) : findPython();
  if (!python.ok) console.log(`Comparison SKIPPED: ${python.why}.`);
  else console.log(`baselines: ${python.note}`);

  const regrets: Regret[] = [];
  const orchestraRuns: OrchestraRun[] = [];
  const baselineRuns: BaselineRun[] = [];
  const problems: string[] = [];
  const jobs: Job[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    for (const name of functions) {
      if (python.ok) {
        jobs.push({
          label: `baselines ${name} seed ${seed}`,
          run: async () => {
            const runs = await runBaselines(python.python, evaluator, { name, budgets, seed, methods: python.methods });
            for (const r of runs) {
              baselineRuns.push(r);
              regrets.push({ function: r.function, budget: r.budget, seed: r.seed, optimizer: r.method, regret: r.regret ?? Number.POSITIVE_INFINITY });
            }
            console.log(`  [${elapsed()}] baselines ${name} seed ${seed}: ${runs.map((r) => `${r.method}@${r.budget} ${fmtRegret(r.regret ?? Infinity)}`).join(', ')}`);
          },
        });
      }
      if (withOrchestra) {
        for (const budget of budgets) {
          jobs.push({
            label: `orchestra ${name} budget ${budget} seed ${seed}`,
            run: async () => {
              const run = await runOrchestra({
                repoRoot: REPO_ROOT,
                cli: dist ? DIST_CLI : SOURCE_CLI,
                evaluator,
                description: describe({ name, budget, seed }),
                budget,
                seed,
                parallel,
                dir: join(workDir, 'orchestra', `${name}-b${budget}-s${seed}`),
              });
              orchestraRuns.push(run);
              regrets.push({ function: name, budget, seed, optimizer: 'orchestra', regret: run.regret });
              const missing = run.bestMissing ? ' — best is null although evaluations succeeded' : '';
              console.log(`  [${elapsed()}] orchestra ${name} budget ${budget} seed ${seed}: regret ${fmtRegret(run.regret)}${missing}, ${run.result.evaluations} evaluations, ${run.seconds.toFixed(0)} s`);
            },
          });
        }
      }
    }
  }

  let skipped = 0;
  const queue = [...jobs];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      if (performance.now() - started > deadlineMs) {
        skipped++;
        continue;
      }
      try {
        await job.run();
      } catch (err) {
        problems.push(`${job.label}: ${err instanceof Error ? err.message : String(err)}`);
        console.log(`  [${elapsed()}] FAILED ${job.label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT_RUNS }, worker));

  const keys = budgets.flatMap((budget) => functions.map((f) => ({ function: f, budget })));
  const verdicts = compare(regrets, keys, seeds);
  printTable(
    `Optimizer: median regret (IQR) over ${seeds} seeds, lower is better`,
    ['function', 'budget', ...OPTIMIZERS.map((o) => TITLES[o]), ...VERDICT_COLUMNS],
    verdicts.rows,
  );
  console.log('');
  for (const line of verdicts.lines) console.log(line);
  for (const note of baselineNotes(baselineRuns)) console.log(`Note: ${note}`);
  if (orchestraRuns.length) {
    printTable(
      'Orchestra runs, from RESULT.json histories',
      ['function', 'budget', 'evaluations', 'distinct', 'failed', 'regret (recommended)', 'regret (best tested)', 'no best', 'run time'],
      orchestraDetail(orchestraRuns, keys),
    );
  }
  console.log(`\nelapsed ${elapsed()}${skipped ? `; ${skipped} runs NOT started: past the ${deadlineMs / 60_000}-minute bound` : ''}`);
  if (problems.length) {
    console.log(`\n${problems.length} run(s) FAILED:`);
    for (const p of problems) console.log(`  - ${p}`);
    throw new Error(`optimizer bench: ${problems.length} run(s) failed (see above)`);
  }
}

/** The choices the baselines made, once each (optuna_compare.py and deap_compare.py put them on every run). */
function baselineNotes(runs: readonly BaselineRun[]): string[] {
  const notes = new Map<string, Set<string>>();
  for (const r of runs) {
    for (const n of r.note.split('; ').filter(Boolean)) {
      const general = n
        .replace(/^first \d+ trials of the \d+-trial study$/, 'the shorter budgets are the first trials of one longer study (samplers ignore n_trials; the noise depends on seed and trial only)')
        .replace(/^population \d+, \d+ generations$/, 'population round(√budget) within 8–50, as many generations as the budget pays for');
      const key = `${methodTitle(r.method)}: ${general.replace(/\(trial \d+\)/, '(trial budget / 2)')}`;
      if (!notes.has(key)) notes.set(key, new Set());
      notes.get(key)!.add(r.function);
    }
  }
  return [...notes].map(([note, fns]) => `${note} (${[...fns].join(', ')})`);
}

const methodTitle = (m: Method) => TITLES[m];

function main(): void {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const list = (name: string) => flag(name)?.split(',');
  optimizerBench({
    quick: args.includes('--quick'),
    budgets: list('budgets')?.map(Number),
    seeds: flag('seeds') === undefined ? undefined : Number(flag('seeds')),
    functions: list('functions'),
    parallel: flag('parallel') === undefined ? undefined : Number(flag('parallel')),
    maxMinutes: flag('max-minutes') === undefined ? undefined : Number(flag('max-minutes')),
    dist: args.includes('--dist'),
    baselines: !args.includes('--no-baselines'),
  }).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
