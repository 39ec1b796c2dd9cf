/**
 * One `orchestra optimize` run, exactly as a user starts it: a child process
 * from the repository root, the space in a file, the evaluator as a shell
 * command, the result read back from RESULT.json. Checks the result's promises
 * (no more evaluations than the budget, one history entry per evaluation, no
 * more evaluator starts than the budget) and judges the recommendation.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Combination } from '../../src/evolution/index.js';
import { variablesSchema } from '../../src/protocol/index.js';
import { judge, type LandscapeDescription } from './landscapes.js';
import { evaluatorCommand, type Evaluator } from './evaluator-command.js';

const variables = variablesSchema;

/** RESULT.json, the public output of `orchestra optimize`; extra fields are allowed. */
const resultSchema = z.object({
  best: z.object({ variables, value: z.number() }).nullable(),
  evaluations: z.number().int().nonnegative(),
  history: z.array(z.object({ variables, success: z.boolean(), value: z.number().nullable() })),
});
export type OptimizeResult = z.output<typeof resultSchema>;

export interface OrchestraRun {
  function: string;
  budget: number;
  seed: number;
  regret: number;
  result: OptimizeResult;
  /** Evaluator starts counted by the evaluator itself. */
  invocations: number;
  /** `best` is null although some evaluation succeeded: nothing to deploy, counted as infinite regret. */
  bestMissing: boolean;
  seconds: number;
  /** The folder holding SPACE.json, RESULT.json and the command's output. */
  dir: string;
}

export interface OrchestraJob {
  repoRoot: string;
  /** Node's arguments before `optimize`: `--import tsx src/cli/main.ts`, or `dist/cli/main.js` after a build. */
  cli: readonly string[];
  evaluator: Evaluator;
  description: LandscapeDescription;
  budget: number;
  seed: number;
  parallel: number;
  dir: string;
}

/** Environment a run must not inherit: each would point the run at a shared store, bus or config. */
const SHARED_STATE = ['DATABASE_URL', 'ORCHESTRA_DATA_DIR', 'ORCHESTRA_SCHEMA', 'REDIS_URL', 'ORCHESTRA_PREFIX', 'ORCHESTRA_CONFIG'];

/** Generous: a test costs ~0.1–0.3 s of a loaded 2-core machine; a run past this is stuck, not slow. */
const timeoutMsFor = (budget: number) => 120_000 + budget * 1_500;

export async function runOrchestra(job: OrchestraJob): Promise<OrchestraRun> {
  const { description, budget, seed } = job;
  await mkdir(job.dir, { recursive: true });
  const spaceFile = join(job.dir, 'SPACE.json');
  const resultFile = join(job.dir, 'RESULT.json');
  const countFile = join(job.dir, 'evaluator-starts');
  await writeFile(spaceFile, JSON.stringify(description.space, null, 2));
  await writeFile(countFile, '');
  const command = evaluatorCommand(job.evaluator, { name: description.name, budget, seed }, countFile);
  const args = [...job.cli, 'optimize', '--space', spaceFile, '--command', command];
  args.push('--budget', String(budget), '--seed', String(seed), '--out', resultFile, '--parallel', String(job.parallel));

  const env = { ...process.env };
  for (const name of SHARED_STATE) delete env[name];
  const started = performance.now();
  const exit = await run(process.execPath, args, { cwd: job.repoRoot, env, timeoutMs: timeoutMsFor(budget) });
  const seconds = (performance.now() - started) / 1000;
  await writeFile(join(job.dir, 'stdout.txt'), exit.stdout);
  await writeFile(join(job.dir, 'stderr.txt'), exit.stderr);
  const label = `orchestra optimize ${description.name} budget ${budget} seed ${seed}`;
  if (exit.code !== 0) throw new Error(`${label} ${exit.reason}: ${exit.stderr.trim().split('\n').slice(-3).join(' / ')} (in ${job.dir})`);

  const result = resultSchema.parse(JSON.parse(await readFile(resultFile, 'utf8')));
  const invocations = (await readFile(countFile, 'utf8')).split('\n').filter(Boolean).length;
  if (result.evaluations > budget) throw new Error(`${label}: ${result.evaluations} evaluations, over the budget (${job.dir})`);
  if (result.history.length !== result.evaluations) {
    throw new Error(`${label}: history holds ${result.history.length} entries for ${result.evaluations} evaluations (${job.dir})`);
  }
  if (invocations > budget) throw new Error(`${label}: the evaluator was started ${invocations} times, over the budget (${job.dir})`);
  if (invocations !== result.evaluations) {
    throw new Error(`${label}: the evaluator was started ${invocations} times but the result reports ${result.evaluations} evaluations (${job.dir})`);
  }
  const regret = result.best ? judge({ name: description.name, budget, seed }, result.best.variables as Combination).regret : Number.POSITIVE_INFINITY;
  const bestMissing = result.best === null && result.history.some((h) => h.success);
  return { function: description.name, budget, seed, regret, result, invocations, bestMissing, seconds, dir: job.dir };
}

interface Exit {
  code: number | null;
  reason: string;
  stdout: string;
  stderr: string;
}

/** Runs a process in its own group, so a timeout also ends the evaluators it started. */
function run(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const reason = timedOut ? `timed out after ${options.timeoutMs / 1000} s` : code === 0 ? 'succeeded' : `exited ${code ?? signal}`;
      resolve({ code: timedOut ? null : code, reason, stdout, stderr });
    });
  });
}
