import { MAX_TASKS_PER_BOT } from '../agents/index.js';
import { orchestraConfig } from './config.js';

/**
 * The defaults of the command line, declared once: what a command changes
 * from the parts' own defaults, and how long a command waits. The code and
 * `--help` both read them from here; the parts' defaults are read from their
 * schemas (`CONFIG_DEFAULTS`).
 */

/** Every setting's default, as the parts' schemas declare it. */
export const CONFIG_DEFAULTS = orchestraConfig.parse({});

/**
 * What `start` changes: generations of 50 combinations tested 10 times each
 * (the parts' defaults) take minutes on a laptop's fleet of simulated bots;
 * the demo keeps each to seconds unless configured otherwise.
 */
export const START_DEFAULTS = { 'experiment.population': 12, 'experiment.testsPerCombination': 2 } as const;

/** What `start` on the user's own evaluator changes besides: a few well-behaved in-process bots, since each test runs the user's command. */
export const START_COMMAND_DEFAULTS = { ...START_DEFAULTS, 'fleet.bots': 2 } as const;

/**
 * What `optimize` changes: one evaluation per new combination and per retest,
 * one attempt each (so the evaluator never runs more than the budget), a
 * drift window of two generations, one evaluation at a time per local bot, and
 * quick polling, since evaluations are short next to a fleet's tests.
 */
export const OPTIMIZE_DEFAULTS = {
  'experiment.testsPerCombination': 1,
  'experiment.retests': 1,
  'experiment.testMaxAttempts': 1,
  'experiment.pollMs': 200,
  'experiment.drift.windowGenerations': 2,
  'fleet.maxTasksPerBot': 1,
  // Each local bot holds its next tests while it runs one, and starts the next as that one ends (see optimizeWaitingPerBot).
  'fleet.checkIntervalMs': 200,
} as const;

/**
 * `optimize`'s waiting tests per local bot unless configured: one bot takes a
 * generation's tests at once (there is no other bot to keep a test from, and
 * the bot agent need not hand them out one by one); several hold one each, so
 * a slow evaluation keeps no test from a bot that is free.
 */
export const optimizeWaitingPerBot = (parallel: number): number => (parallel === 1 ? MAX_TASKS_PER_BOT : 1);

/** `optimize`: evaluations at once (local bots), and how long one may run. */
export const OPTIMIZE_PARALLEL = 4;
export const OPTIMIZE_EVALUATION_TIMEOUT_MS = 60_000;

/** `optimize`'s population unless given: a budget's eighth, from 4 to 20, so a small budget still sees several generations. */
export const OPTIMIZE_POPULATION = { budgetShare: 8, min: 4, max: 20 } as const;
export const optimizePopulation = (budget: number): number =>
  Math.max(OPTIMIZE_POPULATION.min, Math.min(OPTIMIZE_POPULATION.max, Math.round(budget / OPTIMIZE_POPULATION.budgetShare)));

/** How long `run research` waits for its report (the tasks go on after). */
export const RUN_TIMEOUT_MS = 5 * 60_000;
/** How long `trigger`, `stop`, `bots restart|isolate` and `agents` wait for the running system to answer. */
export const ANSWER_TIMEOUT_MS = 5_000;

/** A duration for people: `5 minutes`, `5000 ms`, `7 days`. */
export function describeMs(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
  ];
  for (const [size, name] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms === size ? '' : 's'}`;
  return `${ms} ms`;
}
