import { createRng, OrchestraError, type Clock, type Rng, type Variables, type VariableValue } from '../protocol/index.js';
import type { Evaluation, Evaluator, SpaceLike, VariableSpecLike } from './evaluation.js';

/**
 * A seeded landscape over any variable space, for tests, demos and
 * benchmarks: cheap, deterministic, and with a known optimum so regret
 * (how far the best found is from the best possible) can be computed.
 *
 * Shape, on each variable mapped into [0, 1] (log scale for log variables):
 *   cost = Σ wᵢ (uᵢ − cᵢ)²  +  Σ γᵢ (uᵢ − cᵢ)(uᵢ₊₁ − cᵢ₊₁)  +  Σ offset(choice)
 * a shifted, weighted valley whose neighbouring numeric variables interact
 * mildly, plus a seeded penalty per categorical or bool choice (0 for the best
 * one). Weights wᵢ ∈ [0.5, 2) and |γᵢ| ≤ 0.4 keep the quadratic form positive
 * definite (every wᵢ exceeds the sum of its row's |γ|/2), so the minimum is
 * exactly at the centres; an int's centre is one of its integers, so the
 * optimum is a valid combination. The value is `1 + cost` for a minimized
 * objective and `−(1 + cost)` for a maximized one.
 */
export interface SyntheticLandscape {
  /** The noiseless value of a combination at a trial. Throws an OrchestraError naming a missing or invalid variable. */
  value(variables: Variables, trial: number): number;
  /** The best combination at a trial and its value. */
  optimum(trial: number): { variables: Variables; value: number };
}

export interface SyntheticLandscapeOptions {
  /** From this trial on, the landscape's second optimum applies (the environment changed). */
  driftAtTrial?: number;
}

export interface SyntheticOptions extends SyntheticLandscapeOptions {
  seed: number;
  /** Relative standard deviation of the Gaussian noise on the value. Default 0. */
  noise?: number;
  /** Share of evaluations that fail, 0..1. Default 0. */
  failureRate?: number;
  /** Needed for `delayMs`; times each evaluation's duration. */
  clock?: Clock;
  /** Simulated duration of each evaluation, slept on `clock`. */
  delayMs?: number;
}

const MIN_WEIGHT = 0.5;
const MAX_WEIGHT = 2;
const MAX_INTERACTION = 0.4;
// Centres stay off the edges so a search has to find them rather than hit a bound.
const CENTRE_MARGIN = 0.1;
const MIN_CHOICE_OFFSET = 0.1;
const MAX_CHOICE_OFFSET = 0.6;
/** Simulated latency of the optimum; worse combinations are proportionally slower. */
const BASE_LATENCY_MS = 10;

/** FNV-1a: a stable 32-bit hash, to derive seeds from (seed, trial, variables). */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const between = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.next();

function gaussian(rng: Rng): number {
  const u1 = 1 - rng.next(); // (0, 1]: log is finite
  const u2 = rng.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

const usesLog = (spec: { min: number; max: number; log?: boolean }) => spec.log === true && spec.min > 0 && spec.max > spec.min;

/** A numeric value's position in its range, in [0, 1]. */
function unit(spec: { min: number; max: number; log?: boolean }, x: number): number {
  if (spec.max <= spec.min) return 0;
  const u = usesLog(spec)
    ? (Math.log(Math.max(x, spec.min)) - Math.log(spec.min)) / (Math.log(spec.max) - Math.log(spec.min))
    : (x - spec.min) / (spec.max - spec.min);
  return Math.min(1, Math.max(0, u));
}

function fromUnit(spec: { min: number; max: number; log?: boolean }, u: number): number {
  if (usesLog(spec)) return Math.exp(Math.log(spec.min) + u * (Math.log(spec.max) - Math.log(spec.min)));
  return spec.min + u * (spec.max - spec.min);
}

const choicesOf = (spec: VariableSpecLike): readonly VariableValue[] =>
  spec.type === 'bool' ? [false, true] : spec.type === 'categorical' ? spec.choices : [];

interface NumericTerm {
  name: string;
  spec: { type: 'int' | 'float'; min: number; max: number; log?: boolean };
  weight: number;
  /** With the next numeric variable in name order. */
  interaction: number;
}

interface ChoiceTerm {
  name: string;
  choices: readonly VariableValue[];
}

/** Where one phase (before or after the drift) has its optimum. */
interface Phase {
  centres: Map<string, { u: number; x: number }>;
  offsets: Map<string, number[]>;
}

function makePhase(numeric: NumericTerm[], choice: ChoiceTerm[], rng: Rng): Phase {
  const centres = new Map<string, { u: number; x: number }>();
  for (const { name, spec } of numeric) {
    let x = fromUnit(spec, between(rng, CENTRE_MARGIN, 1 - CENTRE_MARGIN));
    if (spec.type === 'int') x = Math.min(Math.floor(spec.max), Math.max(Math.ceil(spec.min), Math.round(x)));
    centres.set(name, { u: unit(spec, x), x });
  }
  const offsets = new Map<string, number[]>();
  for (const { name, choices } of choice) {
    const best = Math.floor(rng.next() * choices.length);
    offsets.set(
      name,
      choices.map((_, i) => (i === best ? 0 : between(rng, MIN_CHOICE_OFFSET, MAX_CHOICE_OFFSET))),
    );
  }
  return { centres, offsets };
}

export function syntheticLandscape(space: SpaceLike, seed: number, options: SyntheticLandscapeOptions = {}): SyntheticLandscape {
  // Name order, not key order: the same space written in another order is the same landscape.
  const names = Object.keys(space.variables).sort();
  const shape = createRng(hash32(`${seed}:shape`));
  const numeric: NumericTerm[] = [];
  const choice: ChoiceTerm[] = [];
  for (const name of names) {
    const spec = space.variables[name]!;
    if (spec.type === 'int' || spec.type === 'float') {
      numeric.push({ name, spec, weight: between(shape, MIN_WEIGHT, MAX_WEIGHT), interaction: between(shape, -MAX_INTERACTION, MAX_INTERACTION) });
    } else {
      choice.push({ name, choices: choicesOf(spec) });
    }
  }
  const phases = [makePhase(numeric, choice, createRng(hash32(`${seed}:optimum:0`))), makePhase(numeric, choice, createRng(hash32(`${seed}:optimum:1`)))] as const;
  const phaseAt = (trial: number): Phase => (options.driftAtTrial !== undefined && trial >= options.driftAtTrial ? phases[1] : phases[0]);
  const sign = space.objective.direction === 'maximize' ? -1 : 1;

  const cost = (variables: Variables, phase: Phase): number => {
    let total = 0;
    const deltas = numeric.map(({ name, spec }) => {
      const x = variables[name];
      if (x === undefined) throw new OrchestraError('ORC_PROTOCOL_MISSING_FIELD', `variable ${name} is missing`);
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw new OrchestraError('ORC_PROTOCOL_WRONG_TYPE', `variable ${name} must be a finite number, got ${JSON.stringify(x)}`);
      }
      return unit(spec, x) - phase.centres.get(name)!.u;
    });
    numeric.forEach(({ weight, interaction }, i) => {
      const d = deltas[i]!;
      total += weight * d * d;
      if (i + 1 < deltas.length) total += interaction * d * deltas[i + 1]!;
    });
    for (const { name, choices } of choice) {
      const x = variables[name];
      if (x === undefined) throw new OrchestraError('ORC_PROTOCOL_MISSING_FIELD', `variable ${name} is missing`);
      const index = choices.indexOf(x);
      if (index < 0) {
        throw new OrchestraError('ORC_PROTOCOL_INVALID_VALUE', `variable ${name} must be one of ${JSON.stringify(choices)}, got ${JSON.stringify(x)}`);
      }
      total += phase.offsets.get(name)![index]!;
    }
    return total;
  };

  const value = (variables: Variables, trial: number) => sign * (1 + cost(variables, phaseAt(trial)));
  return {
    value,
    optimum(trial) {
      const phase = phaseAt(trial);
      const variables: Variables = {};
      for (const { name } of numeric) variables[name] = phase.centres.get(name)!.x;
      for (const { name, choices } of choice) variables[name] = choices[phase.offsets.get(name)!.indexOf(0)]!;
      return { variables, value: value(variables, trial) };
    },
  };
}

/** The same key order on every call, so a combination always hashes alike. */
const canonical = (variables: Variables) =>
  JSON.stringify(Object.keys(variables).sort().map((k) => [k, variables[k]]));

function checkOptions(options: SyntheticOptions): void {
  const bad = (message: string) => new OrchestraError('ORC_CONFIG_INVALID', `synthetic evaluator: ${message}`);
  const { noise = 0, failureRate = 0, delayMs } = options;
  if (!Number.isFinite(noise) || noise < 0) throw bad(`noise must be a number ≥ 0, got ${noise}`);
  if (!(failureRate >= 0 && failureRate <= 1)) throw bad(`failureRate must be between 0 and 1, got ${failureRate}`);
  if (delayMs !== undefined && !(delayMs >= 0)) throw bad(`delayMs must be ≥ 0, got ${delayMs}`);
  if (delayMs && !options.clock) throw bad('delayMs needs a clock to sleep on');
}

/**
 * An evaluator over `syntheticLandscape`. Noise and failures are drawn from
 * an Rng seeded by (seed, trial, variables): the same three always give the
 * same answer, and the combinations tested in one trial fail or stray
 * independently rather than all together.
 */
export function syntheticEvaluator(space: SpaceLike, options: SyntheticOptions): Evaluator {
  checkOptions(options);
  const landscape = syntheticLandscape(space, options.seed, options);
  const { noise = 0, failureRate = 0, delayMs = 0, clock } = options;
  return async ({ variables, trial }, signal): Promise<Evaluation> => {
    signal.throwIfAborted();
    const startedAt = clock?.now() ?? 0;
    if (delayMs > 0) await clock!.sleep(delayMs, signal);
    const durationMs = clock ? Math.max(0, clock.now() - startedAt) : 0;
    const rng = createRng(hash32(`${options.seed}|${trial}|${canonical(variables)}`));
    // Every draw is taken whatever the outcome, so one setting cannot shift another's stream.
    const fails = rng.next() < failureRate;
    const valueNoise = gaussian(rng);
    const latencyNoise = gaussian(rng);
    let exact: number;
    try {
      exact = landscape.value(variables, trial);
    } catch (err) {
      return { success: false, value: null, metrics: {}, reason: (err as Error).message, durationMs };
    }
    const latencyMs = Math.max(0, BASE_LATENCY_MS * Math.abs(exact) * (1 + 0.05 * latencyNoise));
    if (fails) {
      return { success: false, value: null, metrics: { latencyMs }, reason: `synthetic failure (failureRate ${failureRate})`, durationMs };
    }
    return { success: true, value: exact + noise * Math.abs(exact) * valueNoise, metrics: { latencyMs }, reason: null, durationMs };
  };
}
