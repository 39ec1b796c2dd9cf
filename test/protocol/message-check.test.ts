import { describe, it, expect } from 'vitest';
import {
  createMessage,
  createResponse,
  createRng,
  decodeMessage,
  messageSchema,
  toValidationError,
  validateMessage,
  ValidationError,
  type JsonValue,
  type Message,
  type Rng,
} from '../../src/protocol/index.js';
import { checkMessage } from '../../src/protocol/message-check.js';

/*
 * checkMessage is the hand-written twin of messageSchema that the bus runs.
 * Here both judge the same envelopes, and must agree on everything: accepted
 * or not, the value returned (fields and their order), and every issue's
 * path, code and message, in order.
 */

const NOW = Date.UTC(2026, 0, 1);

/** What the zod schema makes of `value`, in the form checkMessage answers. */
function bySchema(value: unknown) {
  const parsed = messageSchema.safeParse(value);
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, issues: toValidationError('message', parsed.error, value).issues };
}

/** Both verdicts on `value`, with key order made visible (toEqual ignores it). */
function verdicts(value: unknown) {
  const show = (v: ReturnType<typeof bySchema>) =>
    v.ok ? { ok: true, message: v.message, keys: Object.keys(v.message!), errorKeys: v.message!.error && Object.keys(v.message!.error) } : v;
  return { schema: show(bySchema(value)), check: show(checkMessage(value) as ReturnType<typeof bySchema>) };
}

/** Compares the two on every value; returns descriptions of those they disagree on. */
function disagreements(values: [what: string, value: unknown][]): string[] {
  const wrong: string[] = [];
  for (const [what, value] of values) {
    const { schema, check } = verdicts(value);
    try {
      expect(check).toStrictEqual(schema);
      if (schema.ok && check.ok) expect(check.message!.data).toBe(schema.message!.data);
    } catch {
      wrong.push(`${what}: schema ${JSON.stringify(schema)} / check ${JSON.stringify(check)}`);
    }
  }
  return wrong;
}

const request = createMessage(
  { type: 'request', from: 'caller', to: 'agent-1', action: 'get_status', data: { verbose: true }, replyTo: 'reply.caller-7' },
  NOW,
);
const bases: Message[] = [
  request,
  createMessage({ type: 'event', from: 'agent-1', to: null, action: 'task_done', data: [1, 2, 3] }, NOW),
  createResponse(request, 'agent-1', { error: { code: 'E', message: 'failed' } }, NOW),
  createResponse(request, 'agent-1', { data: { sum: 3 } }, NOW),
  createMessage({ type: 'command', from: 'cli', to: 'agent-9', action: 'stop', data: 'now' }, 0),
];

const FIELDS = ['type', 'id', 'from', 'to', 'correlationId', 'timestamp', 'action', 'data', 'replyTo', 'error'] as const;

class Point {
  x = 1;
}
const cyclic: Record<string, unknown> = { name: 'loop' };
cyclic.self = cyclic;
const deep = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};
const shared = { s: 1 };

/** Values of every kind, including those only a caller in this process can put in a message. */
const ODD_VALUES: unknown[] = [
  undefined,
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  1.5,
  -1.5,
  2 ** 53,
  2 ** 53 - 1,
  2 ** 60,
  -(2 ** 60),
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  '',
  'a',
  'request',
  'REQUEST',
  'event',
  ' ',
  'Bad Name!',
  '-agent',
  '/x',
  'Agent-1/inbox:main.v2_x',
  'é',
  'a'.repeat(100),
  'a'.repeat(101),
  'a'.repeat(200),
  'a'.repeat(201),
  '!'.repeat(201),
  'x'.repeat(10_000),
  'x'.repeat(10_001),
  // zod counts code points: 150 emoji are 300 UTF-16 units and fit in 200.
  '😀'.repeat(150),
  '😀'.repeat(200),
  '😀'.repeat(201),
  'a' + '😀'.repeat(100),
  '\uD800',
  '\uDC00\uD800',
  '😀'.repeat(5_001),
  // zod's length checks measure anything with a length, even of the wrong type.
  { length: 3 },
  { length: 300 },
  { length: 'x' },
  { length: undefined },
  Array.from({ length: 201 }, () => 0),
  [],
  ['x'],
  [1, [2, [3]]],
  {},
  { a: 1 },
  { code: 'E', message: 'm' },
  { code: '', message: 5 },
  { code: 'E', message: 'm', stack: 'x' },
  { message: 'no code' },
  { code: 'E', message: 'm', extra: 1, more: 2 },
  { n: undefined },
  { list: [1, [Number.NEGATIVE_INFINITY]] },
  { f: () => 1 },
  { at: new Date(0) },
  new Date(0),
  new Map(),
  new Point(),
  Object.create(null) as object,
  Object.assign(Object.create(null) as object, { code: 'E', message: 'm' }),
  10n,
  Symbol('s'),
  () => 1,
  cyclic,
  { inner: cyclic },
  deep(63),
  deep(64),
  deep(65),
  [shared, shared, { again: shared }],
];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;

/** One envelope with a few fields changed, removed or added at random. */
function mutated(rng: Rng): [string, unknown] {
  const base = pick(rng, bases);
  const value: Record<string, unknown> = { ...base };
  const changes: string[] = [];
  const count = 1 + Math.floor(rng.next() * 3);
  for (let c = 0; c < count; c++) {
    const roll = rng.next();
    if (roll < 0.55) {
      const field = pick(rng, FIELDS);
      const odd = pick(rng, ODD_VALUES);
      value[field] = odd;
      changes.push(`${field}=${shown(odd)}`);
    } else if (roll < 0.75) {
      const field = pick(rng, FIELDS);
      delete value[field];
      changes.push(`-${field}`);
    } else if (roll < 0.9) {
      const key = pick(rng, ['extra', 'priority', 'Type', '', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'data2']);
      Object.defineProperty(value, key, { value: pick(rng, ODD_VALUES), enumerable: true, configurable: true, writable: true });
      changes.push(`+${key}`);
    } else {
      value.error = { code: pick(rng, ['E', '', 'c'.repeat(101), 7]), message: pick(rng, ['m', 'x'.repeat(10_001), null]) };
      if (rng.next() < 0.3) (value.error as Record<string, unknown>)[pick(rng, ['stack', '__proto__', 'cause'])] = 1;
      changes.push(`error=${JSON.stringify(value.error).slice(0, 60)}`);
    }
  }
  return [changes.join(' '), value];
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 10)}…(${value.length})` : value);
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') return String(value);
  try {
    return JSON.stringify(value)?.slice(0, 40) ?? String(value);
  } catch {
    return 'a cyclic value';
  }
}

/** The malformed bodies the contract suites inject (test/contract/bus.contract.ts, agent.contract.ts). */
function contractCases(): [string, unknown][] {
  const valid = createMessage({ type: 'command', from: 'bob', to: 'alice', action: 'ping', data: {} }, NOW);
  const good = createMessage({ type: 'request', from: 'mallory', to: 'calc', action: 'add', data: { a: 1, b: 1 } }, NOW);
  const drop = (m: Message, field: string) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== field));
  return [
    ['action not valid!', { ...valid, action: 'not valid!' }],
    ['empty from', { ...valid, from: '' }],
    // A valid envelope: `send` refuses it for want of a receiver, not the check.
    ['to null on send', { ...valid, to: null }],
    ['extra on send', { ...valid, extra: 1 }],
    ['NaN in data', { ...valid, data: { n: Number.NaN } }],
    ['negative timestamp', { ...valid, timestamp: -1 }],
    ['no id', JSON.parse(JSON.stringify({ ...valid, id: undefined }))],
    ['timestamp yesterday', JSON.parse(JSON.stringify({ ...valid, timestamp: 'yesterday' }))],
    ['sneaky', JSON.parse(JSON.stringify({ ...valid, sneaky: true }))],
    ['gossip', JSON.parse(JSON.stringify({ ...valid, type: 'gossip' }))],
    ['MAX_VALUE and unexpected', JSON.parse(JSON.stringify({ ...valid, data: { n: Number.MAX_VALUE }, unexpected: 1 }))],
    ...['id', 'type', 'from', 'action', 'data', 'timestamp'].map((f): [string, unknown] => [`no ${f}`, drop(good, f)]),
    ...['timestamp', 'from', 'to', 'type', 'action'].map((f): [string, unknown] => [`${f} [true]`, { ...good, [f]: [true] }]),
    ['null', null],
    ['list', []],
    ['string', 'request'],
    ['number', 42],
    ['true', true],
  ];
}

describe('checkMessage agrees with messageSchema', () => {
  it('accepts the same valid envelopes and returns the same value, fields in the same order', () => {
    const rng = createRng(11);
    const values: [string, unknown][] = bases.map((b, i) => [`base ${i}`, b]);
    for (let i = 0; i < 2_000; i++) {
      const data = pick(rng, [null, true, 0, -1.5, '', 'text', [], {}, { a: { b: [null] } }, { i }, deep(63) as JsonValue, [shared, shared]]);
      const type = pick(rng, ['request', 'response', 'command', 'event'] as const);
      const m = createMessage({ type, from: `agent-${i}`, to: rng.next() < 0.2 ? null : 'b', action: pick(rng, ['x', 'a'.repeat(200), 'A:b/c.d_e-f']), data }, i);
      const value: Record<string, unknown> = { ...m };
      if (rng.next() < 0.3) value.replyTo = rng.next() < 0.2 ? undefined : `reply.${i}`;
      if (rng.next() < 0.3) value.error = rng.next() < 0.2 ? undefined : { code: 'c'.repeat(1 + (i % 100)), message: '' };
      // Key order is the caller's; the result's is the schema's.
      const keys = Object.keys(value);
      const shuffled = Object.fromEntries(keys.sort(() => rng.next() - 0.5).map((k) => [k, value[k]]));
      values.push([`valid #${i}`, rng.next() < 0.5 ? shuffled : JSON.parse(JSON.stringify(shuffled))]);
    }
    values.push(['fields inherited from a prototype', Object.create(request) as unknown]);
    values.push(['a timestamp of -0', { ...request, timestamp: -0 }]);
    for (const [, value] of values.slice(0, -1)) expect(checkMessage(value).ok).toBe(true);
    expect(disagreements(values)).toEqual([]);
  });

  it('refuses the malformed bodies of the contract suites with the same issues', () => {
    const cases = contractCases();
    expect(disagreements(cases)).toEqual([]);
    for (const [what, value] of cases) expect(checkMessage(value).ok, what).toBe(what === 'to null on send');
  });

  it('gives the same verdict on every field holding every kind of value', () => {
    const cases: [string, unknown][] = [];
    for (const base of bases) {
      for (const field of FIELDS) {
        for (const odd of ODD_VALUES) cases.push([`${field}=${shown(odd)} on a ${base.type}`, { ...base, [field]: odd }]);
        const { [field]: _removed, ...without } = base;
        cases.push([`no ${field} on a ${base.type}`, without]);
      }
    }
    for (const odd of ODD_VALUES) cases.push([`the whole message ${shown(odd)}`, odd]);
    expect(disagreements(cases)).toEqual([]);
  });

  it('gives the same verdict on 20,000 envelopes with random damage, live and after a JSON round trip', () => {
    const rng = createRng(20260101);
    const cases: [string, unknown][] = [];
    for (let i = 0; i < 10_000; i++) {
      const [what, value] = mutated(rng);
      cases.push([`#${i} ${what}`, value]);
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch {
        // A cycle or a bigint: no text to decode.
      }
      if (text !== undefined) cases.push([`#${i} ${what} (decoded)`, JSON.parse(text)]);
    }
    expect(cases.filter(([, v]) => !checkMessage(v).ok).length).toBeGreaterThan(cases.length / 2);
    expect(disagreements(cases)).toEqual([]);
  });

  it('is what validateMessage and decodeMessage run, throwing a ValidationError with the issues', () => {
    const bad = { ...request, from: '', extra: 1 };
    const err = (() => {
      try {
        validateMessage(bad);
      } catch (e) {
        return e;
      }
    })() as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues).toEqual((bySchema(bad) as { issues: unknown }).issues);
    expect(err.message).toBe('invalid message: from: Too small: expected string to have >=1 characters (and 2 more)');
    expect(decodeMessage(JSON.stringify(request))).toEqual(request);
  });
});
