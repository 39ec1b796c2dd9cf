/**
 * What `orchestra optimize` costs per evaluation beyond the evaluator itself,
 * measured with a trivial evaluator (it reads its input and prints a constant
 * evaluation), against baselines run in the same run, interleaved:
 *
 * - the evaluator run N times through `sh -c` in a shell loop (the least a
 *   driver can cost: one shell per evaluation, nothing recorded);
 * - a Node program that starts, runs the evaluator N times the same way one
 *   after another (its input on stdin, its output parsed) and writes the
 *   results: the least any driver written in Node costs;
 * - `optimize --budget N --parallel 1`, the built CLI (`dist/cli/main.js`),
 *   and the part of it spent evaluating (its result's first start to last end);
 * - Optuna's ask/tell loop calling the same evaluator the same way, when a
 *   Python with Optuna is found;
 * - `optimize --budget 1` (start-up, one evaluation, shutdown, result
 *   written) against a Node program that starts, runs the evaluator once and
 *   writes its output (the least a Node CLI can cost);
 * - where that start-up goes, each in a process of its own: loading the CLI's
 *   modules, and opening the study's store the ways it could be opened (the
 *   embedded store in memory from the cached migrated copy, as `optimize`
 *   does; the same with no cached copy; reopening a store folder that exists,
 *   the least a PGlite store costs).
 *
 * Run alone: `node --import tsx bench/optimize-overhead.ts [--budget 200] [--repetitions 3]`,
 * or `npm run bench -- --only optimize-overhead`. Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { percentile } from './stats.js';
import { findPython } from './optimizer/baselines.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

const EVALUATOR = `#!/bin/sh
cat >/dev/null; echo '{"success":true,"value":1.5}'
`;

const SPACE = {
  name: 'overhead',
  objective: { metric: 'value', direction: 'minimize' },
  variables: {
    level: { type: 'int', min: 1, max: 9 },
    ratio: { type: 'float', min: 0, max: 1 },
    dict: { type: 'bool' },
  },
};

const OPTUNA_LOOP = `
import json, subprocess, sys, optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
budget = int(sys.argv[1])
study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1))
for n in range(budget):
    trial = study.ask()
    variables = {"level": trial.suggest_int("level", 1, 9), "ratio": trial.suggest_float("ratio", 0, 1), "dict": trial.suggest_categorical("dict", [True, False])}
    out = subprocess.run("./ev.sh", shell=True, input=json.dumps({"variables": variables, "trial": n}), capture_output=True, text=True)
    study.tell(trial, json.loads(out.stdout)["value"])
`;

/** The least a Node driver costs: start, run the evaluator N times one after another (input on stdin, output parsed), write the results. */
const NODE_LOOP = `
const { spawn } = require('node:child_process');
const budget = Number(process.argv[2]);
const once = (trial) => new Promise((resolve, reject) => {
  const child = spawn('sh', ['-c', './ev.sh'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.once('error', reject);
  child.once('close', () => resolve({ trial, ...JSON.parse(out) }));
  child.stdin.end(JSON.stringify({ variables: { level: 1, ratio: 0.5, dict: true }, trial }));
});
(async () => {
  const results = [];
  for (let trial = 0; trial < budget; trial++) results.push(await once(trial));
  require('node:fs').writeFileSync('loop.json', JSON.stringify(results));
})();
`;

const ONE_RUN = `
const { spawnSync } = require('node:child_process');
const out = spawnSync('sh', ['-c', './ev.sh'], { input: JSON.stringify({ variables: { level: 1, ratio: 0.5, dict: true }, trial: 0 }) });
require('node:fs').writeFileSync('one.json', out.stdout);
`;

/** Opens the store one way and closes it: argv is the store module's URL, then `memory` or a folder. */
const STORE_START = `
const store = await import(process.argv[2]);
const dataDir = process.argv[3] === 'memory' ? store.IN_MEMORY : process.argv[3];
const { db } = await store.openStore({ dataDir }, Date.now());
await db.close();
`;

/** From an optimize result: first evaluation's start to the last one's end, in ms (the run less its start-up and shutdown). */
function evaluationSpan(file: string): number {
  const { history } = JSON.parse(fs.readFileSync(file, 'utf8')) as { history: { startedAt: string | null; durationMs: number | null }[] };
  const starts: number[] = [];
  const ends: number[] = [];
  for (const { startedAt, durationMs } of history) {
    if (startedAt === null || durationMs === null) continue;
    starts.push(Date.parse(startedAt));
    ends.push(Date.parse(startedAt) + durationMs);
  }
  if (starts.length === 0) throw new Error(`${file}: no evaluation has its timings`);
  return Math.max(...ends) - Math.min(...starts);
}

/** Runs a program to its end; resolves with its wall time in ms, rejects with its stderr's end when it fails. */
function timed(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`));
    });
  });
}

export async function optimizeOverheadBench(options: { budget: number; repetitions: number }): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const { budget, repetitions } = options;
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-overhead-'));
  fs.writeFileSync(path.join(cwd, 'ev.sh'), EVALUATOR, { mode: 0o755 });
  fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify(SPACE));
  fs.writeFileSync(path.join(cwd, 'optuna_loop.py'), OPTUNA_LOOP);
  fs.writeFileSync(path.join(cwd, 'one.cjs'), ONE_RUN);
  fs.writeFileSync(path.join(cwd, 'loop.cjs'), NODE_LOOP);
  fs.writeFileSync(path.join(cwd, 'store.mjs'), STORE_START);
  const storeModule = pathToFileURL(path.join(ROOT, 'dist', 'store', 'index.js')).href;
  const programModule = pathToFileURL(path.join(ROOT, 'dist', 'cli', 'program.js')).href;
  // A cache folder under a regular file cannot be made: the store starts without a cached copy.
  fs.writeFileSync(path.join(cwd, 'no-cache'), '');
  const noCache = { ...process.env, ORCHESTRA_CACHE_DIR: path.join(cwd, 'no-cache', 'orchestra') };
  const python = findPython();
  const shellLoop = `for i in $(seq ${budget}); do echo '{"variables":{"level":1,"ratio":0.5,"dict":true},"trial":0}' | sh -c ./ev.sh > /dev/null; done`;
  const runs: Record<string, number[]> = { shell: [], nodeLoop: [], optimize: [], evaluating: [], optuna: [], nodeOnce: [], optimizeOnce: [], modules: [], memory: [], fresh: [], reopen: [] };
  console.log(`\n## optimize overhead — trivial evaluator, budget ${budget}, ${repetitions} interleaved repetitions, medians (load average ${os.loadavg()[0]!.toFixed(1)})`);
  try {
    for (let r = 0; r < repetitions; r++) {
      runs.shell!.push(await timed('sh', ['-c', shellLoop], cwd));
      runs.nodeLoop!.push(await timed(process.execPath, ['loop.cjs', String(budget)], cwd));
      runs.optimize!.push(await timed(process.execPath, [CLI, 'optimize', '--space', 'space.json', '--command', './ev.sh', '--budget', String(budget), '--parallel', '1', '--out', 'o.json'], cwd));
      runs.evaluating!.push(evaluationSpan(path.join(cwd, 'o.json')));
      if (python.ok) runs.optuna!.push(await timed(python.python, ['optuna_loop.py', String(budget)], cwd));
      runs.nodeOnce!.push(await timed(process.execPath, ['one.cjs'], cwd));
      runs.optimizeOnce!.push(await timed(process.execPath, [CLI, 'optimize', '--space', 'space.json', '--command', './ev.sh', '--budget', '1', '--out', 'o1.json'], cwd));
      runs.modules!.push(await timed(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(programModule)})`], cwd));
      runs.memory!.push(await timed(process.execPath, ['store.mjs', storeModule, 'memory'], cwd));
      runs.fresh!.push(await timed(process.execPath, ['store.mjs', storeModule, 'memory'], cwd, noCache));
      const folder = path.join(cwd, `store-${r}`);
      await timed(process.execPath, ['store.mjs', storeModule, folder], cwd);
      runs.reopen!.push(await timed(process.execPath, ['store.mjs', storeModule, folder], cwd));
    }
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
  const m = (k: string) => percentile([...runs[k]!].sort((a, b) => a - b), 50);
  const per = (k: string) => `${(m(k) / budget).toFixed(1)} ms`;
  const vs = (k: string) => `${(m(k) / m('shell')).toFixed(2)}×`;
  const vsNode = (k: string) => `${(m(k) / m('nodeLoop')).toFixed(2)}×`;
  const rows = [
    ['shell loop, `sh -c` per evaluation', `${(m('shell') / 1000).toFixed(2)} s`, per('shell'), '1.00×', vsNode('shell')],
    ['Node loop: start, spawn each in turn, write the results', `${(m('nodeLoop') / 1000).toFixed(2)} s`, per('nodeLoop'), vs('nodeLoop'), '1.00×'],
    [`optimize --budget ${budget} --parallel 1`, `${(m('optimize') / 1000).toFixed(2)} s`, per('optimize'), `${vs('optimize')} (target ≤ 1.20×)`, vsNode('optimize')],
    ['… of which evaluating: first start to last end, from its result', `${(m('evaluating') / 1000).toFixed(2)} s`, per('evaluating'), vs('evaluating'), vsNode('evaluating')],
    ...(python.ok ? [[`Optuna TPE ask/tell loop (${python.note})`, `${(m('optuna') / 1000).toFixed(2)} s`, per('optuna'), vs('optuna'), vsNode('optuna')]] : []),
  ];
  console.log('| driver | wall | per evaluation | vs shell loop | vs Node loop |\n|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  if (!python.ok) console.log(`(Optuna loop not run: ${python.why})`);
  console.log('\n| one evaluation, start to result written | wall | vs bare Node |\n|---|---|---|');
  console.log(`| node: start, run the evaluator once, write its output | ${m('nodeOnce').toFixed(0)} ms | 1.00× |`);
  console.log(`| optimize --budget 1 | ${m('optimizeOnce').toFixed(0)} ms | ${(m('optimizeOnce') / m('nodeOnce')).toFixed(1)}× (target: under 2 s on an idle machine) |`);
  console.log('\n| where the start goes: a process that only… | wall | vs bare Node |\n|---|---|---|');
  const part = (label: string, k: string) => console.log(`| ${label} | ${m(k).toFixed(0)} ms | ${(m(k) / m('nodeOnce')).toFixed(1)}× |`);
  part('loads the CLI (`dist/cli/program.js` and what it imports)', 'modules');
  part('opens the embedded store in memory from the cached migrated copy and closes it (what optimize does)', 'memory');
  part('the same with no cached copy (initdb, then the migrations)', 'fresh');
  part('reopens a store folder that exists (the least a PGlite store costs)', 'reopen');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const value = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  await optimizeOverheadBench({ budget: value('--budget', 200), repetitions: value('--repetitions', 3) });
}
