import { z } from 'zod';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Deeper nesting than this is refused: no payload needs it, and a parser or validator that recursed on it could overflow its stack. */
export const MAX_JSON_DEPTH = 64;

export interface JsonProblem {
  /** Path from the checked value down to the offending part. */
  path: (string | number)[];
  message: string;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return 'a bigint';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'number') return String(value);
  return `a ${(value as object).constructor?.name ?? 'object without prototype'}`;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The first part of `value` that JSON cannot carry unchanged (undefined,
 * functions, NaN, Infinity, class instances, cycles, nesting deeper than
 * `maxDepth`), or undefined when it is plain JSON. Walks with an explicit
 * stack, so neither depth nor cycles can overflow the call stack.
 *
 * Every message's data goes through here, and it is nearly always plain JSON:
 * a first walk only answers whether there is a problem, allocating no paths;
 * only then does a second one find it and its path.
 */
export function findJsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | undefined {
  return isPlainJson(value, maxDepth) ? undefined : locateJsonProblem(value, maxDepth);
}

/** Whether `locateJsonProblem` finds nothing: the same checks, without paths. */
function isPlainJson(value: unknown, maxDepth: number): boolean {
  // Parallel stacks: a value and its depth, or an object whose subtree is done (depth -1).
  const values: unknown[] = [value];
  const depths: number[] = [0];
  const ancestors = new Set<object>();
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop()!;
    if (depth < 0) {
      ancestors.delete(current as object);
      continue;
    }
    if (current === null || typeof current === 'string' || typeof current === 'boolean') continue;
    if (typeof current === 'number') {
      if (Number.isFinite(current)) continue;
      return false;
    }
    if (typeof current !== 'object' || ancestors.has(current) || depth >= maxDepth) return false;
    const isArray = Array.isArray(current);
    if (!isArray && !isPlainObject(current)) return false;
    ancestors.add(current);
    values.push(current);
    depths.push(-1);
    if (isArray) {
      for (let i = current.length - 1; i >= 0; i--) {
        values.push(current[i]);
        depths.push(depth + 1);
      }
    } else {
      const keys = Object.keys(current);
      for (let i = keys.length - 1; i >= 0; i--) {
        values.push((current as Record<string, unknown>)[keys[i]!]);
        depths.push(depth + 1);
      }
    }
  }
  return true;
}

function locateJsonProblem(value: unknown, maxDepth: number): JsonProblem | undefined {
  type Frame = { value: unknown; path: (string | number)[] } | { leave: object };
  const stack: Frame[] = [{ value, path: [] }];
  const ancestors = new Set<object>();
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      ancestors.delete(frame.leave);
      continue;
    }
    const { value: current, path } = frame;
    if (current === null || typeof current === 'string' || typeof current === 'boolean') continue;
    if (typeof current === 'number') {
      if (Number.isFinite(current)) continue;
      return { path, message: `must be a finite number, got ${describe(current)}` };
    }
    if (typeof current !== 'object') return { path, message: `must be JSON, got ${describe(current)}` };
    if (ancestors.has(current)) return { path, message: 'contains itself (a cycle JSON cannot encode)' };
    if (path.length >= maxDepth) return { path: [], message: `nested deeper than ${maxDepth} levels` };
    const isArray = Array.isArray(current);
    if (!isArray && !isPlainObject(current)) return { path, message: `must be JSON, got ${describe(current)}` };
    ancestors.add(current);
    stack.push({ leave: current });
    if (isArray) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: [...path, i] });
    } else {
      const entries = Object.entries(current);
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], path: [...path, entries[i]![0]] });
    }
  }
  return undefined;
}

/**
 * A value that survives JSON encoding unchanged. Payloads, results and
 * message data use it. The issue names the offending part's path.
 */
export const jsonValue: z.ZodType<JsonValue> = z.custom<JsonValue>().superRefine((value, ctx) => {
  const problem = findJsonProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
});

/** Size of a value once encoded as UTF-8 JSON. */
export const encodedSize = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '');

export interface DuplicateKey {
  /** Path to the object holding the key twice. */
  path: (string | number)[];
  key: string;
}

type ScanFrame = { keys: Set<string>; key: string | undefined } | { index: number };

/**
 * The first key that an object in the JSON `text` declares twice, or
 * undefined. JSON.parse keeps the last silently, and a reviver only sees the
 * survivor, so hand-written documents (a variable space) are scanned as text.
 * `text` must already be valid JSON: the scan only tracks where objects,
 * arrays, keys and strings begin and end.
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: ScanFrame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top && 'keys' in top) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return { path: scanPath(stack.slice(0, -1)), key };
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end;
    } else if (ch === 0x7b /* { */) {
      stack.push({ keys: new Set(), key: undefined });
      expectKey = true;
    } else if (ch === 0x5b /* [ */) {
      stack.push({ index: 0 });
      expectKey = false;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (ch === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top && 'keys' in top) expectKey = true;
      else if (top) top.index++;
    }
  }
  return undefined;
}

function scanPath(frames: readonly ScanFrame[]): (string | number)[] {
  return frames.map((f) => ('keys' in f ? f.key! : f.index));
}

/** Whether two JSON values are equal as JSON: objects compare by their keys, whatever their order (as PostgreSQL's jsonb does). */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]!));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k]!, b[k]!));
}

/** U+0000, or a surrogate without its pair: JSON can carry them, PostgreSQL's jsonb and text cannot. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `text` cannot be stored as it is, or undefined when it can. */
export function unstorableText(text: string): string | undefined {
  const found = UNSTORABLE.exec(text);
  if (!found) return undefined;
  const char = found[0].charCodeAt(0);
  return char === 0 ? 'holds U+0000, which the store cannot keep' : `holds a lone surrogate (U+${char.toString(16).toUpperCase()}), which the store cannot keep`;
}

/**
 * The first string or key in a JSON value that the store cannot keep (see
 * `unstorableText`), with its path; undefined when there is none. Values are
 * plain JSON already, so the walk needs no cycle or depth checks beyond the
 * explicit stack.
 */
export function findUnstorableText(value: JsonValue): JsonProblem | undefined {
  const stack: { value: JsonValue; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      const problem = unstorableText(current);
      if (problem) return { path, message: problem };
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        const item = current[i]!;
        if (typeof item === 'string' || (item !== null && typeof item === 'object')) stack.push({ value: item, path: [...path, i] });
      }
    } else if (current !== null && typeof current === 'object') {
      const keys = Object.keys(current);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const problem = unstorableText(key);
        if (problem) return { path: [...path, key], message: `key ${JSON.stringify(key)} ${problem}` };
        stack.push({ value: current[key]!, path: [...path, key] });
      }
    }
  }
  return undefined;
}

/** `value` with every unstorable character replaced by U+FFFD: for diagnostics (an error's stderr), where a close copy beats none. */
export function storableCopy(value: JsonValue): JsonValue {
  if (typeof value === 'string') return unstorableText(value) ? value.replace(new RegExp(UNSTORABLE.source, 'g'), '\ufffd') : value;
  if (Array.isArray(value)) return value.map(storableCopy);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableCopy(k) as string, storableCopy(v)]));
  }
  return value;
}
