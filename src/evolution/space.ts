import { z } from 'zod';
import { findDuplicateKey, parseJson, parseWith, ValidationError, variableValue } from '../protocol/index.js';

/**
 * The variable space: a public JSON format that users write by hand and that is
 * stored with every experiment, so its shape is kept exactly and checked strictly
 * (an unknown field is almost always a typo such as `"lgo": true`).
 */

const intVariable = z
  .object({ type: z.literal('int'), min: z.number().int(), max: z.number().int(), log: z.boolean().optional() })
  .strict();
const floatVariable = z
  .object({ type: z.literal('float'), min: z.number(), max: z.number(), log: z.boolean().optional() })
  .strict();
/** Choices are a combination's values: JSON scalars (zod's numbers are finite), `1` and `"1"` different. */
const categoricalVariable = z.object({ type: z.literal('categorical'), choices: z.array(variableValue).min(1) }).strict();
const boolVariable = z.object({ type: z.literal('bool') }).strict();

export const variableSchema = z.discriminatedUnion('type', [intVariable, floatVariable, categoricalVariable, boolVariable]);

export const spaceSchema = z
  .object({
    name: z.string().min(1).max(200),
    objective: z
      .object({
        metric: z.string().min(1).max(200),
        direction: z.enum(['minimize', 'maximize']),
        /** What a failed run costs: `exclude` (default) leaves it out; `retry` repeats it until it succeeds. */
        failures: z.enum(['exclude', 'retry']).optional(),
      })
      .strict(),
    variables: z
      .record(z.string().min(1).max(200), variableSchema)
      .refine((vars) => Object.keys(vars).length > 0, 'must declare at least one variable'),
  })
  .strict()
  .superRefine((space, ctx) => {
    // Cross-field rules a per-field schema cannot express; each names the field to fix.
    if (space.objective.failures === 'retry' && space.objective.direction !== 'minimize') {
      ctx.addIssue({
        code: 'custom',
        path: ['objective', 'failures'],
        message: 'retry prices each failure into a cost to minimize (value / P(success)); with maximize it has no meaning: use exclude or minimize a cost',
      });
    }
    for (const [name, v] of Object.entries(space.variables)) {
      const at = (field: string) => ['variables', name, field];
      if (v.type === 'int' || v.type === 'float') {
        if (v.min > v.max) ctx.addIssue({ code: 'custom', path: at('min'), message: `min ${v.min} is greater than max ${v.max}` });
        if (v.log && v.min <= 0) ctx.addIssue({ code: 'custom', path: at('min'), message: 'a log-scaled variable needs min > 0' });
      }
      if (v.type === 'categorical') {
        const seen = new Set<string>();
        v.choices.forEach((c, i) => {
          const k = JSON.stringify(c);
          if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [...at('choices'), i], message: `duplicate choice ${k}` });
          seen.add(k);
        });
      }
    }
  });

export type Variable = z.output<typeof variableSchema>;
export type IntVariable = z.output<typeof intVariable>;
export type FloatVariable = z.output<typeof floatVariable>;
export type CategoricalVariable = z.output<typeof categoricalVariable>;
export type BoolVariable = z.output<typeof boolVariable>;
export type Choice = z.output<typeof variableValue>;

export interface Space {
  name: string;
  objective: { metric: string; direction: 'minimize' | 'maximize'; failures?: 'exclude' | 'retry' };
  variables: Record<string, Variable>;
}

/**
 * True when failed runs are repeated until one succeeds: the objective is then
 * the expected cost per success, a combination's value over its probability
 * of success.
 */
export const failuresRetried = (space: Space): boolean => space.objective.failures === 'retry';

/** Parses a variable space, throwing a `ValidationError` whose issue paths name the field (`variables.window.min`). */
export function parseSpace(input: unknown): Space {
  // A record schema skips a `__proto__` key (it would set the prototype), so
  // such a variable would vanish without a word.
  const variables = (input as { variables?: unknown } | null)?.variables;
  if (variables !== null && typeof variables === 'object' && Object.prototype.hasOwnProperty.call(variables, '__proto__')) {
    throw new ValidationError('variable space', [
      { path: 'variables.__proto__', code: 'ORC_PROTOCOL_INVALID_VALUE', message: 'is not allowed as a variable name' },
    ]);
  }
  return parseWith(spaceSchema, 'variable space', input);
}

/**
 * Parses a variable space from the JSON text a user wrote. A key given twice
 * (two variables with one name) is refused, naming it: JSON.parse would keep
 * the last one silently.
 */
export function parseSpaceJson(subject: string, text: string): Space {
  const value = parseJson(subject, text);
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    throw new ValidationError(subject, [
      { path: [...duplicate.path, duplicate.key].join('.'), code: 'ORC_PROTOCOL_INVALID_VALUE', message: 'declared twice' },
    ]);
  }
  return parseSpace(value);
}
