import { describe, it, expect } from 'vitest';
import {
  createMessage,
  createResponse,
  createRng,
  decodeMessage,
  encodeMessage,
  validateMessage,
  ERROR_CODES,
  MAX_MESSAGE_BYTES,
  MESSAGE_TYPES,
  ValidationError,
  type ErrorCode,
  type JsonValue,
  type Message,
  type Rng,
} from '../../src/protocol/index.js';

const NOW = Date.UTC(2026, 0, 1);

/** True when `path` is `field` or a path inside it (`data`, `data.list.1`). */
const within = (path: string, field: string) => path === field || path.startsWith(`${field}.`);

const request = createMessage(
  { type: 'request', from: 'caller', to: 'agent-1', action: 'get_status', data: { verbose: true }, replyTo: 'reply.caller-7' },
  NOW,
);

/** The error `fn` throws, or a failure when it throws nothing. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, got a value');
}

/** Decodes `raw` and returns the ValidationError it must raise. */
function refusal(raw: string, maxBytes?: number): ValidationError {
  const err = thrown(() => decodeMessage(raw, maxBytes));
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

/** The JSON text of `request` with `field` replaced by `value` (undefined removes it). */
const withField = (field: string, value: unknown, base: Message = request) => JSON.stringify({ ...base, [field]: value });

/** The JSON text of `base` with one field holding raw JSON text (numbers JSON.stringify cannot write). */
const withRawField = (field: string, rawJson: string, base: Message = request) =>
  JSON.stringify({ ...base, [field]: '@@RAW@@' }).replace('"@@RAW@@"', rawJson);

describe('createMessage', () => {
  it('gives a fresh id that doubles as the correlation id, and stamps the given time', () => {
    const a = createMessage({ type: 'command', from: 'cli', to: 'agent-1', action: 'stop' }, NOW);
    const b = createMessage({ type: 'command', from: 'cli', to: 'agent-1', action: 'stop' }, NOW);
    expect(a.id).not.toBe(b.id);
    expect(a).toEqual({ type: 'command', id: a.id, from: 'cli', to: 'agent-1', correlationId: a.id, timestamp: NOW, action: 'stop', data: {} });
  });

  it('keeps a correlation id, id, reply address and error it is given', () => {
    const m = createMessage(
      { type: 'response', id: 'm-1', from: 'a', to: 'b', action: 'x', correlationId: 'c-9', replyTo: 'r', error: { code: 'E', message: 'no' } },
      5,
    );
    expect(m).toMatchObject({ id: 'm-1', correlationId: 'c-9', replyTo: 'r', error: { code: 'E', message: 'no' } });
  });

  it('leaves reply address and error out when not given, so the encoding has no undefined fields', () => {
    const m = createMessage({ type: 'event', from: 'a', to: null, action: 'happened' }, NOW);
    expect(Object.keys(m)).not.toContain('replyTo');
    expect(Object.keys(m)).not.toContain('error');
  });
});

describe('createResponse', () => {
  it('answers the requester with the request id as correlation id and carries the reply address back', () => {
    const response = createResponse(request, 'agent-1', { data: { ok: true } }, NOW + 2_000);
    expect(response).toEqual({
      type: 'response',
      id: response.id,
      from: 'agent-1',
      to: 'caller',
      correlationId: request.id,
      timestamp: NOW + 2_000,
      action: 'get_status',
      data: { ok: true },
      replyTo: 'reply.caller-7',
    });
    expect(response.id).not.toBe(request.id);
  });

  it('correlates to the request id even when the request itself continued another conversation', () => {
    const followUp = createMessage({ type: 'request', from: 'caller', to: 'agent-2', action: 'next', correlationId: 'conversation-1' }, NOW);
    expect(createResponse(followUp, 'agent-2', {}, NOW).correlationId).toBe(followUp.id);
  });

  it('has no reply address when the request named none, and carries an error with empty data', () => {
    const plain = createMessage({ type: 'request', from: 'caller', to: 'agent-1', action: 'get_status' }, NOW);
    const response = createResponse(plain, 'agent-1', { error: { code: 'ORC_BUS_REMOTE_ERROR', message: 'boom' } }, NOW);
    expect(Object.keys(response)).not.toContain('replyTo');
    expect(response).toMatchObject({ data: {}, error: { code: 'ORC_BUS_REMOTE_ERROR', message: 'boom' } });
  });
});

describe('encodeMessage and decodeMessage', () => {
  const event = createMessage({ type: 'event', from: 'agent-1', to: null, action: 'task_done', data: [1, 'two', null, { three: [3.5, false] }] }, NOW);
  const failed = createResponse(request, 'agent-1', { error: { code: 'E_X', message: 'über 💥' } }, NOW);

  it.each([
    ['a request with a reply address', request],
    ['a broadcast event with nested data', event],
    ['a response carrying an error and non-ASCII text', failed],
  ])('round-trips %s unchanged', (_what, message) => {
    const text = encodeMessage(message);
    expect(typeof text).toBe('string');
    expect(decodeMessage(text)).toEqual(message);
  });

  it('accepts each message type and data of every JSON kind', () => {
    for (const type of MESSAGE_TYPES) {
      const values: JsonValue[] = [null, true, 0, -1.5, '', 'text', [], {}, { a: { b: [null] } }];
      for (const data of values) {
        const m = createMessage({ type, from: 'a', to: 'b', action: 'x', data }, NOW);
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }
    }
  });

  it('accepts names at their limits: 200 characters, and : / . _ - inside', () => {
    expect(decodeMessage(withField('action', 'a'.repeat(200))).action).toHaveLength(200);
    expect(decodeMessage(withField('to', 'Agent-1/inbox:main.v2_x')).to).toBe('Agent-1/inbox:main.v2_x');
  });
});

describe('validation failures carry a stable code and the field path', () => {
  it('refuses text that is not JSON with ORC_PROTOCOL_INVALID_JSON at the root', () => {
    for (const raw of ['{"type":', '', 'undefined', "{'type':'request'}", '{"a":1,}', JSON.stringify(request) + '}', '{"data":NaN}']) {
      const err = refusal(raw);
      expect(err.code).toBe('ORC_PROTOCOL_INVALID_JSON');
      expect(err.issues).toEqual([expect.objectContaining({ path: '(root)', code: 'ORC_PROTOCOL_INVALID_JSON' })]);
    }
  });

  it('refuses JSON that is not an object with ORC_PROTOCOL_WRONG_TYPE at the root', () => {
    for (const raw of ['null', '[]', '42', '"request"', 'true']) {
      const err = refusal(raw);
      expect(err.code).toBe('ORC_PROTOCOL_WRONG_TYPE');
      expect(err.issues[0]!.path).toBe('(root)');
    }
  });

  it.each(['type', 'id', 'from', 'to', 'correlationId', 'timestamp', 'action', 'data'])(
    'refuses a message without %s with ORC_PROTOCOL_MISSING_FIELD naming it',
    (field) => {
      const err = refusal(withField(field, undefined));
      expect(err.issues[0]).toMatchObject({ path: field, code: 'ORC_PROTOCOL_MISSING_FIELD' });
      expect(err.code).toBe('ORC_PROTOCOL_MISSING_FIELD');
      expect(err.message).toContain(field);
    },
  );

  it('names the nested path of a field missing inside the error object', () => {
    const err = refusal(withField('error', { message: 'no code' }));
    expect(err.issues[0]).toMatchObject({ path: 'error.code', code: 'ORC_PROTOCOL_MISSING_FIELD' });
  });

  const wrongTypes: [string, unknown][] = [
    ['type', 7],
    ['type', true],
    ['type', null],
    ['type', ['request']],
    ['id', 7],
    ['id', null],
    ['from', { name: 'caller' }],
    ['from', false],
    ['to', 42],
    ['to', ['agent-1']],
    ['correlationId', 1],
    ['timestamp', 'noon'],
    ['timestamp', null],
    ['timestamp', [1]],
    ['action', true],
    ['replyTo', 5],
    ['replyTo', null],
    ['error', 'boom'],
    ['error', null],
  ];
  it.each(wrongTypes)('refuses %s holding %j with ORC_PROTOCOL_WRONG_TYPE', (field, value) => {
    const err = refusal(withField(field, value));
    expect(err.issues[0]).toMatchObject({ path: field, code: 'ORC_PROTOCOL_WRONG_TYPE' });
  });

  const outOfRange: [string, string, unknown][] = [
    ['an empty sender', 'from', ''],
    ['an empty id', 'id', ''],
    ['an empty correlation id', 'correlationId', ''],
    ['an empty action', 'action', ''],
    ['an action of 201 characters', 'action', 'a'.repeat(201)],
    ['a receiver of 201 characters', 'to', 'b'.repeat(201)],
    ['an id of 201 characters', 'id', 'i'.repeat(201)],
    ['a negative timestamp', 'timestamp', -1],
    ['a timestamp past the safe integers', 'timestamp', 2 ** 60],
  ];
  it.each(outOfRange)('refuses %s with ORC_PROTOCOL_OUT_OF_RANGE', (_what, field, value) => {
    const err = refusal(withField(field, value));
    expect(err.issues[0]).toMatchObject({ path: field, code: 'ORC_PROTOCOL_OUT_OF_RANGE' });
  });

  it('refuses an error message over 10,000 characters with ORC_PROTOCOL_OUT_OF_RANGE at error.message', () => {
    const err = refusal(withField('error', { code: 'E', message: 'x'.repeat(10_001) }));
    expect(err.issues[0]).toMatchObject({ path: 'error.message', code: 'ORC_PROTOCOL_OUT_OF_RANGE' });
  });

  const invalidValues: [string, string, unknown][] = [
    ['an unknown message type', 'type', 'shout'],
    ['a message type in the wrong case', 'type', 'REQUEST'],
    ['an empty message type', 'type', ''],
    ['a sender with a space and !', 'from', 'Bad Name!'],
    ['a receiver starting with a dash', 'to', '-agent'],
    ['an action starting with a slash', 'action', '/get_status'],
    ['a reply address with a space', 'replyTo', 'reply to'],
  ];
  it.each(invalidValues)('refuses %s with ORC_PROTOCOL_INVALID_VALUE', (_what, field, value) => {
    const err = refusal(withField(field, value));
    expect(err.issues[0]).toMatchObject({ path: field, code: 'ORC_PROTOCOL_INVALID_VALUE' });
  });

  it('refuses an unknown field with ORC_PROTOCOL_UNKNOWN_FIELD, naming it in the message', () => {
    const err = refusal(withField('priority', 1));
    expect(err.issues[0]).toMatchObject({ path: '(root)', code: 'ORC_PROTOCOL_UNKNOWN_FIELD' });
    expect(err.message).toContain('priority');
  });

  it('refuses an unknown field inside the error object, and keys that shadow Object.prototype', () => {
    expect(refusal(withField('error', { code: 'E', message: 'm', stack: 'x' })).issues[0]).toMatchObject({
      path: 'error',
      code: 'ORC_PROTOCOL_UNKNOWN_FIELD',
    });
    for (const key of ['__proto__', 'constructor', 'toString']) {
      const raw = JSON.stringify(request).replace('{', `{"${key}":{"polluted":true},`);
      expect(refusal(raw).issues[0]).toMatchObject({ path: '(root)', code: 'ORC_PROTOCOL_UNKNOWN_FIELD' });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('refuses text over the size limit with ORC_PROTOCOL_TOO_LARGE before parsing it', () => {
    const big = withField('data', 'x'.repeat(MAX_MESSAGE_BYTES));
    expect(refusal(big)).toMatchObject({ code: 'ORC_PROTOCOL_TOO_LARGE', issues: [{ path: '(root)', code: 'ORC_PROTOCOL_TOO_LARGE' }] });
    // Size is checked before JSON: an oversized body is refused as too large even when it is not JSON.
    expect(refusal('{' + ' '.repeat(2_000), 1_000).code).toBe('ORC_PROTOCOL_TOO_LARGE');
  });

  it('measures the limit in UTF-8 bytes, not characters', () => {
    const text = encodeMessage(createMessage({ type: 'event', from: 'a', to: null, action: 'x', data: 'é'.repeat(300) }, NOW));
    expect(text.length).toBeLessThan(500);
    expect(Buffer.byteLength(text)).toBeGreaterThan(500);
    expect(refusal(text, 500).code).toBe('ORC_PROTOCOL_TOO_LARGE');
    expect(decodeMessage(text, Buffer.byteLength(text)).data).toBe('é'.repeat(300));
  });

  it('refuses to encode a message larger than the limit', () => {
    const big = createMessage({ type: 'event', from: 'a', to: null, action: 'x', data: 'x'.repeat(2_000) }, NOW);
    const err = thrown(() => encodeMessage(big, 1_000)) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues[0]).toMatchObject({ path: '(root)', code: 'ORC_PROTOCOL_TOO_LARGE' });
    expect(encodeMessage(big, 3_000)).toContain('xxx');
  });

  it('refuses a number JSON text can write but a message cannot carry (1e999 parses as Infinity)', () => {
    for (const raw of ['1e999', '-1e999', '[1, {"n": 1e999}]']) {
      const err = refusal(withRawField('data', raw));
      expect(within(err.issues[0]!.path, 'data')).toBe(true);
      expect(Object.keys(ERROR_CODES)).toContain(err.code);
    }
    expect(refusal(withRawField('timestamp', '1e999')).issues[0]!.path).toBe('timestamp');
  });

  const notJson: [string, unknown][] = [
    ['NaN', { n: Number.NaN }],
    ['Infinity', { n: Number.POSITIVE_INFINITY }],
    ['-Infinity nested in a list', { list: [1, [Number.NEGATIVE_INFINITY]] }],
    ['NaN as the whole data', Number.NaN],
    ['undefined', { n: undefined }],
    ['a function', { f: () => 1 }],
    ['a Date', { at: new Date(0) }],
    ['a bigint', { n: 10n }],
  ];
  it.each(notJson)('refuses data holding %s, which JSON cannot carry', (_what, data) => {
    const message = { ...request, data } as unknown as Message;
    const viaEncode = thrown(() => encodeMessage(message)) as ValidationError;
    expect(viaEncode).toBeInstanceOf(ValidationError);
    expect(within(viaEncode.issues[0]!.path, 'data')).toBe(true);
    expect(thrown(() => validateMessage(message))).toBeInstanceOf(ValidationError);
  });

  it('refuses data that contains itself with a ValidationError, not a stack overflow', () => {
    const data: Record<string, unknown> = { name: 'loop' };
    data.self = data;
    const err = thrown(() => encodeMessage({ ...request, data } as unknown as Message));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]!.path).toSatisfy((p: string) => within(p, 'data'));
  });

  it('refuses data nested 10,000 levels deep (20 kB of text) with a ValidationError, not a stack overflow', () => {
    const depth = 10_000;
    const raw = withRawField('data', '['.repeat(depth) + ']'.repeat(depth));
    expect(Buffer.byteLength(raw)).toBeLessThan(MAX_MESSAGE_BYTES);
    const err = thrown(() => decodeMessage(raw));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]!.path).toSatisfy((p: string) => within(p, 'data'));
    expect(Object.keys(ERROR_CODES)).toContain((err as ValidationError).code);
  });

  it('lists every broken field, and takes its code from the first', () => {
    const err = refusal(JSON.stringify({ ...request, id: undefined, from: 3, extra: true }));
    expect(err.issues.map((i) => [i.path, i.code])).toEqual(
      expect.arrayContaining([
        ['id', 'ORC_PROTOCOL_MISSING_FIELD'],
        ['from', 'ORC_PROTOCOL_WRONG_TYPE'],
        ['(root)', 'ORC_PROTOCOL_UNKNOWN_FIELD'],
      ]),
    );
    expect(err.code).toBe(err.issues[0]!.code);
    expect(err.message).toMatch(/\(and 2 more\)$/);
  });
});

// ---------------------------------------------------------------------------
// 1,000 generated malformed bodies

interface Malformed {
  what: string;
  raw: string;
  /** The path the first issue must name. */
  path: string;
  /** The code it must carry, where one code is the only right answer. */
  code?: ErrorCode;
}

const REQUIRED = ['type', 'id', 'from', 'to', 'correlationId', 'timestamp', 'action', 'data'] as const;
const STRING_FIELDS = ['id', 'from', 'correlationId', 'action'] as const;

const bases: Message[] = [
  request,
  createMessage({ type: 'event', from: 'agent-1', to: null, action: 'task_done', data: [1, 2, 3] }, NOW),
  createResponse(request, 'agent-1', { error: { code: 'E', message: 'failed' } }, NOW),
  createMessage({ type: 'command', from: 'cli', to: 'agent-9', action: 'stop', data: 'now' }, 0),
];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;

function wrongTypeFor(field: string, rng: Rng): unknown {
  // Values of another JSON type than the field's; `to` is nullable, so null is right for it.
  const notString = [7, -1.5, true, false, [], ['x'], {}, { a: 1 }, ...(field === 'to' ? [] : [null])];
  if (field === 'timestamp') return pick(rng, ['noon', '', true, [], {}, null, [1]]);
  if (field === 'error') return pick(rng, [7, true, 'boom', null, []]);
  return pick(rng, notString);
}

function generateMalformed(i: number, rng: Rng): Malformed {
  const base = pick(rng, bases);
  const text = JSON.stringify(base);
  switch (i % 8) {
    case 0: {
      const breakers = [
        () => text.slice(0, Math.floor(rng.next() * (text.length - 1))),
        () => text + '}',
        () => text.replace(/}$/, ',}'),
        () => text.replace(/"/g, "'"),
        () => text.replace(/":/, '"'),
        () => `{"type":"event","data":${pick(rng, ['NaN', 'Infinity', 'undefined', '01', '.5', '+1', "'x'"])}}`,
        () => pick(rng, ['', ' ', 'undefined', '{', '}', '[', 'nul', 'request', '\u0000']),
      ];
      return { what: 'bad JSON', raw: pick(rng, breakers)(), path: '(root)', code: 'ORC_PROTOCOL_INVALID_JSON' };
    }
    case 1: {
      const field = REQUIRED[i % REQUIRED.length]!;
      return { what: `no ${field}`, raw: withField(field, undefined, base), path: field };
    }
    case 2: {
      const field = pick(rng, [...REQUIRED.filter((f) => f !== 'data'), 'replyTo', 'error']);
      return { what: `${field} of the wrong type`, raw: withField(field, wrongTypeFor(field, rng), base), path: field };
    }
    case 3: {
      // data takes any JSON value; the only wrong values JSON text can write are numbers beyond double range.
      const raw = pick(rng, ['1e999', '-1e999', '[1e400]', '{"n":{"m":-1e309}}']);
      return { what: 'data beyond double range', raw: withRawField('data', raw, base), path: 'data' };
    }
    case 4: {
      const extra = pick(rng, ['extra', 'priority', 'Type', 'data2', '__proto__', 'constructor', `field${i}`, '']);
      if (rng.next() < 0.25) {
        return {
          what: 'unknown field in error',
          raw: withField('error', { code: 'E', message: 'm', [extra]: i }, base),
          path: 'error',
          code: 'ORC_PROTOCOL_UNKNOWN_FIELD',
        };
      }
      const raw = text.replace('{', `{${JSON.stringify(extra)}:${JSON.stringify(i)},`);
      return { what: `unknown field ${extra}`, raw, path: '(root)', code: 'ORC_PROTOCOL_UNKNOWN_FIELD' };
    }
    case 5: {
      const size = MAX_MESSAGE_BYTES + Math.floor(rng.next() * 4096);
      return { what: 'oversized data', raw: withField('data', BIG.slice(0, size), base), path: '(root)', code: 'ORC_PROTOCOL_TOO_LARGE' };
    }
    case 6: {
      const value = pick(rng, ['shout', 'REQUEST', 'Request', ' request', 'requests', 'evt', 'reply', 'response\n', `t${i}`]);
      return { what: `type ${JSON.stringify(value)}`, raw: withField('type', value, base), path: 'type', code: 'ORC_PROTOCOL_INVALID_VALUE' };
    }
    default: {
      const field = pick(rng, STRING_FIELDS);
      const [value, code] = pick<[string, ErrorCode]>(rng, [
        ['', 'ORC_PROTOCOL_OUT_OF_RANGE'],
        ['n'.repeat(201 + Math.floor(rng.next() * 100)), 'ORC_PROTOCOL_OUT_OF_RANGE'],
      ]);
      return { what: `${field} out of range`, raw: withField(field, value, base), path: field, code };
    }
  }
}

const BIG = 'x'.repeat(MAX_MESSAGE_BYTES + 4096);

describe('1,000 generated malformed messages', () => {
  it('each decode to a ValidationError with a known code and the path of the broken field, and nothing else', () => {
    const rng = createRng(20260101);
    const codes = Object.keys(ERROR_CODES);
    const wrong: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const c = generateMalformed(i, rng);
      let err: unknown;
      try {
        decodeMessage(c.raw);
        wrong.push(`#${i} ${c.what}: decoded without error`);
        continue;
      } catch (e) {
        err = e;
      }
      if (!(err instanceof ValidationError)) {
        wrong.push(`#${i} ${c.what}: threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
        continue;
      }
      const first = err.issues[0];
      if (!codes.includes(err.code) || !first || !first.path) wrong.push(`#${i} ${c.what}: code ${err.code}, issues ${JSON.stringify(err.issues)}`);
      else if (!within(first.path, c.path)) wrong.push(`#${i} ${c.what}: path ${first.path}, expected ${c.path}`);
      else if (c.code && err.code !== c.code) wrong.push(`#${i} ${c.what}: code ${err.code}, expected ${c.code}`);
    }
    expect(wrong).toEqual([]);
  });
});
