import { z } from 'zod';
import { cadenceProblem, DEFAULT_DRIFT_OPTIONS } from '../evolution/index.js';

/**
 * How a study runs, with the design's defaults, written once. Stored with the
 * study when it is created, so a resumed study runs as it started.
 */
export const experimentConfig = z
  .object({
    /** Combinations per generation. */
    population: z.number().int().min(2).max(10_000).default(50),
    /** Tests of each new combination per generation. */
    testsPerCombination: z.number().int().min(1).max(1000).default(10),
    /** Of the best combinations, how many are tested again each generation before one is promoted (noise, drift). */
    retests: z.number().int().min(0).max(50).default(2),
    /** Stop after this many generations; unset: run until stopped. */
    maxGenerations: z.number().int().min(1).optional(),
    /** Stop after this many evaluations, retests and failures included; unset: no limit. */
    budget: z.number().int().min(1).optional(),
    /** What `get_best_combination` asks of a combination's success rate unless told otherwise. */
    minSuccessRate: z.number().min(0).max(1).default(0.9),
    seed: z.number().int().nonnegative().default(1),
    /** Priority of test tasks in the registry. */
    testPriority: z.number().int().min(1).max(10).default(5),
    /** Attempts per test task: 1 means an evaluation is never run twice, even after a crash. */
    testMaxAttempts: z.number().int().min(1).max(100).default(3),
    /** Only bots of this group (and of this role) run the study's tests and campaign runs; any bot when unset. */
    botGroup: z.string().min(1).max(100).optional(),
    botRole: z.string().min(1).max(100).optional(),
    /**
     * When generations start: unset, as soon as the last one is scored; or a cron
     * expression in UTC (`0 0 * * *`: a generation a day at midnight), see nextGenerationAt.
     */
    cadence: z
      .string()
      .superRefine((text, ctx) => {
        const problem = cadenceProblem(text);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /** How often a generation's tests are checked, besides on each completion event. */
    pollMs: z.number().int().positive().default(1000),
    /** How long the variable agent waits for the bot agent to take a generation's tests (`create_test_task`). */
    createTestsTimeoutMs: z.number().int().positive().default(30_000),
    /** How often a running campaign's progress is counted, besides on each completion event. */
    campaignPollMs: z.number().int().positive().default(2_000),
    /** How long the variable agent waits for the analysis agent's verdict on a generation. */
    analysisTimeoutMs: z.number().int().positive().default(10_000),
    /**
     * The lease on driving the study (one driver per study; another process on the
     * same store stands by): renewed every third of it, and how long a process
     * standing by waits after the driver died before it takes over.
     */
    driverLeaseMs: z.number().int().min(100).default(30_000),
    drift: z
      .object({
        /** Whether the analysis looks for environment changes at all: off, a stationary study pays no false alarms (`--drift off`). */
        enabled: z.boolean().default(true),
        /** The recent window the elite's scores are compared over. Default 7 days. */
        windowMs: z.number().int().positive().default(DEFAULT_DRIFT_OPTIONS.windowMs),
        /** When set, the window is this many generations instead (short runs, `orchestra optimize`). */
        windowGenerations: z.number().int().positive().optional(),
        /** A fall of the elite's scores by more than this share of their baseline is an environment change. */
        threshold: z.number().positive().max(1).default(DEFAULT_DRIFT_OPTIONS.threshold),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ExperimentOptions = z.input<typeof experimentConfig>;
export type ExperimentConfig = z.output<typeof experimentConfig>;
