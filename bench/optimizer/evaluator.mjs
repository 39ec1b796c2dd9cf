#!/usr/bin/env node
/**
 * The evaluator program every optimizer in the optimizer benchmark calls, in the
 * public evaluation format: one JSON object on stdin, `{"variables": {...},
 * "trial": n}`, one JSON object on stdout, `{"success": true, "value": 1.7}`
 * (value null on a failure).
 *
 *   node bench/optimizer/evaluator.mjs --landscapes FILE --function NAME --budget N --seed S
 *       [--count FILE] [--exact | --describe]
 *
 * FILE is the bundle bundle.ts builds from bench/functions.ts (plain JS, so this
 * program starts in well under 100 ms; the landscapes have no other source).
 * `--count FILE` appends a line to FILE per test, so the bench counts the
 * starts itself instead of trusting the optimizer's report.
 * `--exact` prints the noise-free value on the final landscape and the regret
 * for the variables on stdin (`{"variables": {...}}`); `--describe` prints the
 * space, optimum and drift trial. Plain JS on purpose: it is started once per test.
 */
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

function flag(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function required(name) {
  const value = flag(name);
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const landscapes = await import(pathToFileURL(required('landscapes')).href);
  const request = { name: required('function'), budget: Number(required('budget')), seed: Number(required('seed')) };
  if (!Number.isInteger(request.budget) || !Number.isInteger(request.seed)) throw new Error('--budget and --seed must be integers');
  if (process.argv.includes('--describe')) return landscapes.describe(request);
  const input = JSON.parse(await readStdin());
  if (process.argv.includes('--exact')) return landscapes.judge(request, input.variables);
  if (!Number.isInteger(input.trial) || input.trial < 0) throw new Error(`trial must be a non-negative integer, got ${JSON.stringify(input.trial)}`);
  const count = flag('count');
  if (count !== undefined) appendFileSync(count, `${input.trial}\n`);
  return landscapes.evaluate(request, input.variables, input.trial);
}

try {
  process.stdout.write(JSON.stringify(await main()) + '\n');
} catch (err) {
  // A bench bug, not a failed test: exit non-zero so the optimizer records it
  // as an error, and say why on stderr.
  process.stderr.write(`evaluator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
