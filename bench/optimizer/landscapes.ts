/**
 * What the evaluator program answers, as pure functions over bench/functions.ts:
 * one test of a landscape (the public evaluation format), its noise-free value
 * on the final landscape, and its description. bundle.ts compiles this module
 * (with bench/functions.ts inlined) into one plain JS file that evaluator.mjs
 * imports, so the landscapes have a single source and the evaluator starts
 * without tsx.
 */
import { createRng } from '../../src/protocol/rng.js';
import { benchFunctions, type BenchFunction } from '../functions.js';
import type { Combination, Space } from '../../src/evolution/index.js';

export interface LandscapeRequest {
  /** A name from bench/functions.ts (`sphere-5d`, `drifting`, …). */
  name: string;
  /** The budget of the run: the drifting landscape moves at half of it. */
  budget: number;
  /** Seeds the noise and the random failures; the same (seed, trial) always answers the same. */
  seed: number;
}

export interface LandscapeDescription {
  name: string;
  about: string;
  /** The space in the public JSON format, as written to SPACE.json. */
  space: Space;
  optimum: number;
  /** The first trial evaluated on the moved landscape, or null for landscapes that never move. */
  driftTrial: number | null;
}

/** Every landscape of bench/functions.ts, in its order. */
export const names = (budget: number): string[] => benchFunctions(budget).map((f) => f.name);

/** Per budget, built once: building them all solves some optima numerically, and the bench judges thousands of points. */
const built = new Map<number, BenchFunction[]>();

export function landscape(request: LandscapeRequest): BenchFunction {
  let fns = built.get(request.budget);
  if (!fns) built.set(request.budget, (fns = benchFunctions(request.budget)));
  const fn = fns.find((f) => f.name === request.name);
  if (!fn) throw new Error(`unknown function ${request.name}; expected one of ${names(request.budget).join(', ')}`);
  return fn;
}

export function describe(request: LandscapeRequest): LandscapeDescription {
  const fn = landscape(request);
  return {
    name: fn.name,
    about: fn.about,
    space: fn.space,
    optimum: fn.optimum,
    // bench/functions.ts moves the drifting landscape at floor(budget / 2) (benchFunctions);
    // the comparison needs the same number to pick Optuna's recommendation after the move.
    driftTrial: fn.name === 'drifting' ? Math.floor(request.budget / 2) : null,
  };
}

/** murmur3's 32-bit finaliser: spreads (seed, trial) so neighbouring trials get unrelated noise. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The noise seed of one test: a function of (seed, trial) only, so every optimizer sees the same noise at the same trial. */
export const trialSeed = (seed: number, trial: number): number => mix32(mix32(seed) ^ Math.imul(trial + 1, 0x9e3779b1));

/** One test, as the evaluator prints it: `{"success", "value"}` with value null on a failure. */
export function evaluate(request: LandscapeRequest, variables: Combination, trial: number): { success: boolean; value: number | null } {
  const fn = landscape(request);
  checkNames(fn, variables);
  const result = fn.evaluate(variables, trial, createRng(trialSeed(request.seed, trial)));
  if (result.success && (result.value === null || !Number.isFinite(result.value))) {
    throw new Error(`${fn.name} gave ${String(result.value)} for ${JSON.stringify(variables)}: are all variables present and in range?`);
  }
  return result;
}

/** An optimizer that sends a wrong set of names is a bug in the bench, not a failed test: refuse it loudly. */
function checkNames(fn: BenchFunction, variables: Combination): void {
  const expected = Object.keys(fn.space.variables).sort().join(',');
  const got = Object.keys(variables).sort().join(',');
  if (expected !== got) throw new Error(`${fn.name} takes variables ${expected}, got ${got}`);
}

/** A recommendation judged noise-free on the landscape as it is at the end of the budget: its value and its regret. */
export function judge(request: LandscapeRequest, variables: Combination): { value: number; regret: number } {
  const fn = landscape(request);
  checkNames(fn, variables);
  const value = fn.exact(variables);
  if (!Number.isFinite(value)) throw new Error(`${fn.name} has no value for ${JSON.stringify(variables)}`);
  return { value, regret: Math.abs(value - fn.optimum) };
}
