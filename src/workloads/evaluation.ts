import { z } from 'zod';
import { testOutcomeSchema, variablesSchema, type Variables, type VariableValue } from '../protocol/index.js';

/**
 * The public evaluation format, the contract between Orchestra and anything
 * that scores a combination of variables:
 *
 *   stdin  (one JSON object)  {"variables": {"level": 6, "algorithm": "gzip"}, "trial": 3}
 *   stdout (one JSON object)  {"success": true, "value": 0.31, "latencyMs": 12}
 *
 * `value` is the number the experiment optimises; it must be a finite number
 * when `success` is true and may be null or absent when it is false. Every
 * other numeric field is kept as a metric; other extra fields are ignored,
 * except a string `reason` (or `error`) on a failure, which is kept as why.
 *
 * The types below are structural on purpose: `evolution` owns variable
 * spaces, and `workloads` must not import it (DESIGN.md: workloads talk only
 * to the outside world), so a `Space` from there is assignable to `SpaceLike`.
 */


export type VariableSpecLike =
  | { type: 'int' | 'float'; min: number; max: number; log?: boolean }
  | { type: 'categorical'; choices: readonly VariableValue[] }
  | { type: 'bool' };

export interface SpaceLike {
  name?: string;
  objective: { metric: string; direction: 'minimize' | 'maximize' };
  variables: Record<string, VariableSpecLike>;
}


/** What an evaluator receives on stdin. `trial` counts the tests of one experiment. */
export const evaluationInputSchema = z
  .object({
    variables: variablesSchema,
    trial: z.number().int().nonnegative(),
  })
  .strict();
export type EvaluationInput = z.output<typeof evaluationInputSchema>;

/**
 * What an evaluator prints. Extra fields are allowed (they are the metrics);
 * the messages are the reasons a failed evaluation carries, so they name the
 * field and what it should have been.
 */
export const evaluationOutputSchema = z
  .object({
    success: z.boolean({
      error: (issue) => (issue.input === undefined ? 'success is missing: it must be true or false' : 'success must be a boolean'),
    }),
    value: z.unknown().optional(),
  })
  .loose()
  .superRefine((output, ctx) => {
    if (output.success && !isFiniteNumber(output.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'value must be a finite number when success is true' });
    }
  });

/** An evaluation as Orchestra records it, whoever produced it: a test's outcome and how long it took. A failure's value is never scored. */
export const evaluationSchema = testOutcomeSchema.extend({ durationMs: z.number().nonnegative() }).strict();

export type Evaluation = z.output<typeof evaluationSchema>;

/**
 * Scores one combination. A combination that does not work is a resolved,
 * failed `Evaluation`; the promise rejects only when `signal` aborts
 * (cancellation), with the signal's reason.
 */
export type Evaluator = (input: { variables: Variables; trial: number }, signal: AbortSignal) => Promise<Evaluation>;

/** An evaluation before anyone has timed it. */
export type ParsedEvaluation = Omit<Evaluation, 'durationMs'>;

/** Fields of the output format itself: never metrics. */
const RESERVED = new Set(['success', 'value', 'reason', 'error']);

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export const failedEvaluation = (reason: string, metrics: Record<string, number> = {}): ParsedEvaluation => ({
  success: false,
  value: null,
  metrics,
  reason,
});

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Checks an already-decoded JSON value against the output format. */
export function evaluationFromJson(output: unknown): ParsedEvaluation {
  if (output === null || typeof output !== 'object' || Array.isArray(output)) {
    return failedEvaluation(`output must be one JSON object, got ${describeJson(output)}`);
  }
  const parsed = evaluationOutputSchema.safeParse(output);
  if (!parsed.success) return failedEvaluation(parsed.error.issues[0]?.message ?? 'output does not follow the evaluation format');
  const fields = parsed.data as Record<string, unknown>;
  const metrics: Record<string, number> = {};
  for (const [key, v] of Object.entries(fields)) {
    if (!RESERVED.has(key) && isFiniteNumber(v)) metrics[key] = v;
  }
  if (parsed.data.success) return { success: true, value: parsed.data.value as number, metrics, reason: null };
  const said = [fields['reason'], fields['error']].find((v): v is string => typeof v === 'string' && v.trim() !== '');
  return {
    success: false,
    // Kept for the record when the evaluator gave one; a failure is never scored.
    value: isFiniteNumber(fields['value']) ? fields['value'] : null,
    metrics,
    reason: said ?? 'the evaluator reported success: false',
  };
}

/**
 * Parses an evaluator's standard output. Anything but one JSON object in the
 * format is a failed evaluation whose reason says what was wrong; this never
 * throws, because bad output is a fact about the combination's run, not a
 * fault of the caller.
 */
export function parseEvaluationOutput(stdout: string): ParsedEvaluation {
  const text = stdout.trim();
  if (text === '') return failedEvaluation('output is empty: expected one JSON object');
  let output: unknown;
  try {
    output = JSON.parse(text);
  } catch (err) {
    return failedEvaluation(`output is not JSON: ${(err as Error).message}`);
  }
  return evaluationFromJson(output);
}
