import { z } from 'zod';

/** A variable's value in a combination: a JSON scalar (`1` and `"1"` are different values). */
export const variableValue = z.union([z.number(), z.string(), z.boolean()]);
export type VariableValue = z.output<typeof variableValue>;

/** A combination's variables, by name: what the optimizer proposes, a bot tests and a campaign runs. */
export const variablesSchema = z.record(z.string(), variableValue);
export type Variables = z.output<typeof variablesSchema>;

/** A study's identity: every generation, test, report and campaign names the study it belongs to. */
export const studyIdSchema = z.string().min(1);

/**
 * What a test task carries: which workload to run with which variables, and
 * where its result belongs. Shared by the agents that plan and hand out tests
 * and the workloads that run them.
 */
export const testPayloadSchema = z
  .object({
    /** The workload (evaluator) the bot runs: `synthetic`, `compression`, `command`, … */
    workload: z.string().min(1),
    studyId: studyIdSchema,
    key: z.string().min(1),
    variables: variablesSchema,
    /** The evaluation's number within its study, handed to the evaluator. */
    trial: z.number().int().nonnegative(),
    /** The generation it tests; -1 for a campaign run. */
    generation: z.number().int().min(-1),
    campaignId: z.string().min(1).optional(),
    /** Only bots of this group run it (a lab, a device class); any bot when unset. */
    group: z.string().min(1).max(100).optional(),
    /** Only bots of this role run it; any bot when unset. */
    role: z.string().min(1).max(100).optional(),
  })
  .strict();

export type TestPayload = z.output<typeof testPayloadSchema>;

/**
 * A test's outcome, as the public evaluator format defines it: whether it
 * worked, the optimised number (null when it failed without one), every other
 * numeric field as a metric, and why it failed (null on success).
 */
export const testOutcomeSchema = z.object({
  success: z.boolean(),
  value: z.number().nullable(),
  metrics: z.record(z.string(), z.number()),
  reason: z.string().nullable(),
});

/** What a bot reports for a test: its outcome, where a bot that leaves out the metrics or the reason means none. */
export const testResultSchema = testOutcomeSchema.extend({
  metrics: testOutcomeSchema.shape.metrics.default({}),
  reason: testOutcomeSchema.shape.reason.default(null),
});

export type TestOutcome = z.output<typeof testResultSchema>;
