import { ValidationError, type ValidationIssue, type Variables } from '../protocol/index.js';
import type { Space, Variable } from './space.js';

/** One point of a space: ints as integers, bools as booleans, categoricals as one of the choices. */
export type Combination = Variables;

/**
 * Floats are kept (and keyed) to 12 significant digits: enough to tell any two
 * values a search would care about apart, few enough that a value that went
 * through JSON, a database column or another language keys the same.
 */
export const FLOAT_DIGITS = 12;

export const roundFloat = (x: number): number => (x === 0 ? 0 : Number(x.toPrecision(FLOAT_DIGITS)));

const namesCache = new WeakMap<Space, readonly string[]>();

/** Variable names in the canonical (sorted) order used by keys and encodings. */
export function variableNames(space: Space): readonly string[] {
  let names = namesCache.get(space);
  if (!names) namesCache.set(space, (names = Object.keys(space.variables).sort()));
  return names;
}

/**
 * The key of a combination already known to be valid: JSON of `[name, value]`
 * pairs in sorted name order. Callers inside the part use it in hot loops.
 */
export function keyOf(space: Space, c: Combination): string {
  const parts: string[] = [];
  for (const name of variableNames(space)) {
    const v = space.variables[name]!;
    const value = c[name]!;
    parts.push(JSON.stringify(name) + ':' + JSON.stringify(v.type === 'float' ? roundFloat(value as number) : value));
  }
  return '{' + parts.join(',') + '}';
}

/** Canonical, stable key of a combination (sorted names, floats to 12 significant digits): for dedupe and storage. */
export function combinationKey(space: Space, c: Combination): string {
  return keyOf(space, checkCombination(space, c));
}

function checkValue(name: string, v: Variable, value: unknown): ValidationIssue | null {
  const issue = (code: ValidationIssue['code'], message: string): ValidationIssue => ({ path: name, code, message });
  if (value === undefined) return issue('ORC_PROTOCOL_MISSING_FIELD', 'required');
  switch (v.type) {
    case 'bool':
      return typeof value === 'boolean' ? null : issue('ORC_PROTOCOL_WRONG_TYPE', 'expected a boolean');
    case 'categorical':
      return v.choices.some((c) => c === value)
        ? null
        : issue('ORC_PROTOCOL_INVALID_VALUE', `expected one of ${JSON.stringify(v.choices)}`);
    case 'int':
    case 'float': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return issue('ORC_PROTOCOL_WRONG_TYPE', 'expected a finite number');
      if (v.type === 'int' && !Number.isInteger(value)) return issue('ORC_PROTOCOL_WRONG_TYPE', 'expected an integer');
      if (value < v.min || value > v.max) return issue('ORC_PROTOCOL_OUT_OF_RANGE', `expected ${v.min} ≤ value ≤ ${v.max}`);
      return null;
    }
  }
}

/**
 * Validates a combination against its space (every variable present with its
 * type and within its bounds, no unknown names) and returns a copy in canonical
 * order. Throws a `ValidationError` whose issue paths are the variable names.
 */
export function checkCombination(space: Space, c: unknown): Combination {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) {
    throw new ValidationError('combination', [{ path: '(root)', code: 'ORC_PROTOCOL_WRONG_TYPE', message: 'expected an object' }]);
  }
  const input = c as Record<string, unknown>;
  const issues: ValidationIssue[] = [];
  const out: Combination = {};
  for (const name of variableNames(space)) {
    const value = Object.prototype.hasOwnProperty.call(input, name) ? input[name] : undefined;
    const issue = checkValue(name, space.variables[name]!, value);
    if (issue) issues.push(issue);
    else out[name] = value as number | string | boolean;
  }
  for (const name of Object.keys(input)) {
    if (!Object.prototype.hasOwnProperty.call(space.variables, name)) {
      issues.push({ path: name, code: 'ORC_PROTOCOL_UNKNOWN_FIELD', message: `the space ${space.name} has no variable ${name}` });
    }
  }
  if (issues.length) throw new ValidationError('combination', issues);
  return out;
}
