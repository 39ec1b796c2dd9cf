/**
 * The baselines (random search, Optuna TPE, Optuna CMA-ES through
 * optuna_compare.py; a DEAP genetic algorithm through deap_compare.py): finding
 * a Python that has Optuna, and running the scripts for one landscape and seed
 * at every budget.
 */
import { spawn, spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { evaluatorBase, type Evaluator } from './evaluator-command.js';

export const METHODS = ['random', 'tpe', 'cmaes', 'deap'] as const;
export type Method = (typeof METHODS)[number];

const OPTUNA_SCRIPT = fileURLToPath(new URL('./optuna_compare.py', import.meta.url));
/** Its own script: it imports deap, which the Optuna methods must not need. */
const DEAP_SCRIPT = fileURLToPath(new URL('./deap_compare.py', import.meta.url));

const lineSchema = z.object({
  function: z.string(),
  budget: z.number().int(),
  seed: z.number().int(),
  method: z.enum(METHODS),
  // null: no successful trial to recommend.
  regret: z.number().nullable(),
  best: z.object({ variables: z.record(z.string(), z.unknown()), value: z.number(), trial: z.number().int() }).nullable(),
  evaluations: z.number().int(),
  failures: z.number().int(),
  seconds: z.number(),
  note: z.string(),
});
export type BaselineRun = z.output<typeof lineSchema>;

export type Python = { ok: true; python: string; methods: Method[]; note: string | null } | { ok: false; why: string };

/**
 * The first interpreter that imports optuna: $PYTHON, python3, then Debian's
 * /usr/bin/python3 (where apt's python3-optuna lives when python3 is a pyenv
 * shim). CMA-ES also needs the cmaes module, and the GA the deap module (with
 * Optuna too: deap_compare.py calls the evaluator through optuna_compare.py);
 * without either the others still run.
 */
export function findPython(): Python {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  const tried: string[] = [];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import optuna; print(optuna.__version__)'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      tried.push(`${python}: ${probe.error ? 'not found' : 'no optuna module'}`);
      continue;
    }
    const version = probe.stdout.trim();
    const cmaes = spawnSync(python, ['-c', 'import cmaes'], { encoding: 'utf8' }).status === 0;
    const deap = spawnSync(python, ['-c', 'import deap; print(deap.__version__)'], { encoding: 'utf8' });
    const methods: Method[] = ['random', 'tpe'];
    const notes = [`${python}, Optuna ${version}`];
    if (cmaes) methods.push('cmaes');
    else notes.push('CMA-ES not run: no cmaes module (apt-get install python3-cmaes)');
    if (deap.status === 0) {
      methods.push('deap');
      notes[0] += `, DEAP ${deap.stdout.trim()}`;
    } else notes.push('DEAP GA not run: no deap module (apt-get install python3-deap)');
    return { ok: true, python, methods, note: notes.join('; ') };
  }
  return { ok: false, why: `no Python with Optuna (${tried.join('; ')}); install it with apt-get install python3-optuna python3-cmaes python3-deap` };
}

/** Every method on one landscape and seed, at every budget. Resolves with the runs; rejects with a script's error. */
export async function runBaselines(
  python: string,
  evaluator: Evaluator,
  job: { name: string; budgets: readonly number[]; seed: number; methods: readonly Method[] },
): Promise<BaselineRun[]> {
  const common = ['--evaluator', evaluatorBase(evaluator), '--functions', job.name, '--budgets', job.budgets.join(','), '--seeds', String(job.seed)];
  const optuna = job.methods.filter((m) => m !== 'deap');
  const runs: BaselineRun[] = [];
  // One script after the other: the job holds one of the bench's two run slots (index.ts).
  if (optuna.length) runs.push(...(await runScript(python, [OPTUNA_SCRIPT, ...common, '--methods', optuna.join(',')], job)));
  if (job.methods.includes('deap')) runs.push(...(await runScript(python, [DEAP_SCRIPT, ...common], job)));
  return runs;
}

function runScript(python: string, args: string[], job: { name: string; seed: number }): Promise<BaselineRun[]> {
  const script = basename(args[0]!);
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${script} ${job.name} seed ${job.seed} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`));
      try {
        resolve(stdout.split('\n').filter(Boolean).map((line) => lineSchema.parse(JSON.parse(line))));
      } catch (err) {
        reject(err);
      }
    });
  });
}
