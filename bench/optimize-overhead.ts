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
 * - `optimize --budget N --parallel 1`, the built CLI (`dist/cli/main.js`);
 * - Optuna's ask/tell loop calling the same evaluator the same way, when a
 *   Python with Optuna is found;
 * - `optimize --budget 1` (start-up, one evaluation, shutdown, result
 *   written) against a Node program that starts, runs the evaluator once and
 *   writes its output (the least a Node CLI can cost).
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

/** Runs a program to its end; resolves with its wall time in ms, rejects with its stderr's end when it fails. */
function timed(command: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
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
  const python = findPython();
  const shellLoop = `for i in $(seq ${budget}); do echo '{"variables":{"level":1,"ratio":0.5,"dict":true},"trial":0}' | sh -c ./ev.sh > /dev/null; done`;
  const runs: Record<string, number[]> = { shell: [], nodeLoop: [], optimize: [], optuna: [], nodeOnce: [], optimizeOnce: [] };
  console.log(`\n## optimize overhead — trivial evaluator, budget ${budget}, ${repetitions} interleaved repetitions, medians (load average ${os.loadavg()[0]!.toFixed(1)})`);
  try {
    for (let r = 0; r < repetitions; r++) {
      runs.shell!.push(await timed('sh', ['-c', shellLoop], cwd));
      runs.nodeLoop!.push(await timed(process.execPath, ['loop.cjs', String(budget)], cwd));
      runs.optimize!.push(await timed(process.execPath, [CLI, 'optimize', '--space', 'space.json', '--command', './ev.sh', '--budget', String(budget), '--parallel', '1', '--out', 'o.json'], cwd));
      if (python.ok) runs.optuna!.push(await timed(python.python, ['optuna_loop.py', String(budget)], cwd));
      runs.nodeOnce!.push(await timed(process.execPath, ['one.cjs'], cwd));
      runs.optimizeOnce!.push(await timed(process.execPath, [CLI, 'optimize', '--space', 'space.json', '--command', './ev.sh', '--budget', '1', '--out', 'o1.json'], cwd));
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
    ...(python.ok ? [[`Optuna TPE ask/tell loop (${python.note})`, `${(m('optuna') / 1000).toFixed(2)} s`, per('optuna'), vs('optuna'), vsNode('optuna')]] : []),
  ];
  console.log('| driver | wall | per evaluation | vs shell loop | vs Node loop |\n|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  if (!python.ok) console.log(`(Optuna loop not run: ${python.why})`);
  console.log('\n| one evaluation, start to result written | wall | vs bare Node |\n|---|---|---|');
  console.log(`| node: start, run the evaluator once, write its output | ${m('nodeOnce').toFixed(0)} ms | 1.00× |`);
  console.log(`| optimize --budget 1 | ${m('optimizeOnce').toFixed(0)} ms | ${(m('optimizeOnce') / m('nodeOnce')).toFixed(1)}× (target: under 2 s on an idle machine) |`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const value = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  await optimizeOverheadBench({ budget: value('--budget', 200), repetitions: value('--repetitions', 3) });
}
