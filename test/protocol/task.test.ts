import { describe, it, expect } from 'vitest';
import {
  createRng,
  taskToJson,
  validateNewTask,
  DEFAULT_PRIORITY,
  ERROR_CODES,
  MAX_PAYLOAD_BYTES,
  ValidationError,
  type ErrorCode,
  type Rng,
  type Task,
} from '../../src/protocol/index.js';

/** True when `path` is `field` or a path inside it (`data`, `data.list.1`). */
const within = (path: string, field: string) => path === field || path.startsWith(`${field}.`);

function refusal(input: unknown, maxPayloadBytes?: number): ValidationError {
  try {
    validateNewTask(input, maxPayloadBytes);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error(`expected ${JSON.stringify(input)?.slice(0, 200)} to be refused`);
}

describe('validateNewTask', () => {
  it('fills in priority 5, an empty object payload and no dependencies', () => {
    expect(validateNewTask({ kind: 'email.send' })).toEqual({ kind: 'email.send', priority: 5, payload: {}, dependsOn: [] });
    expect(DEFAULT_PRIORITY).toBe(5);
  });

  it('keeps every field it is given', () => {
    const task = {
      kind: 'render:pdf',
      payload: { pages: [1, 2], title: 'Q1' },
      priority: 1,
      dependsOn: ['t-1', 'T_2.a:b'],
      idempotencyKey: 'order-77',
      maxAttempts: 3,
      taskId: 'job-1',
      runAt: Date.UTC(2026, 0, 2),
    };
    expect(validateNewTask(task)).toEqual(task);
  });

  it('keeps a null payload as given, and any JSON value as payload', () => {
    for (const payload of [null, 0, 'text', [1, 'a'], { deep: { list: [true] } }]) {
      expect(validateNewTask({ kind: 'k', payload }).payload).toEqual(payload);
    }
  });

  it('accepts priorities 1 through 10', () => {
    for (let priority = 1; priority <= 10; priority++) expect(validateNewTask({ kind: 'k', priority }).priority).toBe(priority);
  });

  it.each<[number, ErrorCode]>([
    [0, 'ORC_PROTOCOL_OUT_OF_RANGE'],
    [11, 'ORC_PROTOCOL_OUT_OF_RANGE'],
    [-3, 'ORC_PROTOCOL_OUT_OF_RANGE'],
    // Integer is a type, as in JSON Schema: 2.5 is the wrong type, not a value out of range.
    [2.5, 'ORC_PROTOCOL_WRONG_TYPE'],
    [Number.NaN, 'ORC_PROTOCOL_WRONG_TYPE'],
  ])('refuses priority %s with %s', (priority, code) => {
    expect(refusal({ kind: 'k', priority }).issues[0]).toMatchObject({ path: 'priority', code });
  });

  it('refuses a priority given as text or null with ORC_PROTOCOL_WRONG_TYPE', () => {
    for (const priority of ['5', null, [5]]) {
      expect(refusal({ kind: 'k', priority }).issues[0]).toMatchObject({ path: 'priority', code: 'ORC_PROTOCOL_WRONG_TYPE' });
    }
  });

  it('accepts kinds of lower-case letters, digits and _ . : - starting with a letter or digit, up to 100 characters', () => {
    for (const kind of ['a', '0', 'email.send', 'x:y-z_1', '9lives', 'k'.repeat(100)]) expect(validateNewTask({ kind }).kind).toBe(kind);
  });

  it.each<[string, string, ErrorCode]>([
    ['upper case', 'Email', 'ORC_PROTOCOL_INVALID_VALUE'],
    ['a space', 'email send', 'ORC_PROTOCOL_INVALID_VALUE'],
    ['a leading dash', '-send', 'ORC_PROTOCOL_INVALID_VALUE'],
    ['a leading dot', '.send', 'ORC_PROTOCOL_INVALID_VALUE'],
    ['a slash', 'email/send', 'ORC_PROTOCOL_INVALID_VALUE'],
    ['a non-ASCII letter', 'émail', 'ORC_PROTOCOL_INVALID_VALUE'],
    ['nothing', '', 'ORC_PROTOCOL_OUT_OF_RANGE'],
    ['101 characters', 'k'.repeat(101), 'ORC_PROTOCOL_OUT_OF_RANGE'],
  ])('refuses a kind with %s', (_what, kind, code) => {
    expect(refusal({ kind }).issues[0]).toMatchObject({ path: 'kind', code });
  });

  it('refuses a body without a kind with ORC_PROTOCOL_MISSING_FIELD naming kind', () => {
    expect(refusal({ payload: {} })).toMatchObject({ code: 'ORC_PROTOCOL_MISSING_FIELD', issues: [{ path: 'kind' }] });
  });

  it('refuses a body that is not an object at the root', () => {
    for (const input of [null, [], 'email.send', 42]) {
      expect(refusal(input).issues[0]).toMatchObject({ path: '(root)', code: 'ORC_PROTOCOL_WRONG_TYPE' });
    }
  });

  it('refuses a task that lists the same dependency twice with ORC_PROTOCOL_INVALID_VALUE on dependsOn', () => {
    const err = refusal({ kind: 'k', dependsOn: ['a', 'b', 'a'] });
    expect(err.issues).toEqual([{ path: 'dependsOn', code: 'ORC_PROTOCOL_INVALID_VALUE', message: expect.stringContaining('twice') }]);
  });

  it('names the position of a bad dependency id', () => {
    expect(refusal({ kind: 'k', dependsOn: ['a', 'has space'] }).issues[0]).toMatchObject({ path: 'dependsOn.1', code: 'ORC_PROTOCOL_INVALID_VALUE' });
    expect(refusal({ kind: 'k', dependsOn: ['a', 'b', 3] }).issues[0]).toMatchObject({ path: 'dependsOn.2', code: 'ORC_PROTOCOL_WRONG_TYPE' });
    expect(refusal({ kind: 'k', dependsOn: [''] }).issues[0]).toMatchObject({ path: 'dependsOn.0', code: 'ORC_PROTOCOL_OUT_OF_RANGE' });
  });

  it('allows 1,000 dependencies and refuses 1,001 with ORC_PROTOCOL_OUT_OF_RANGE', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    expect(validateNewTask({ kind: 'k', dependsOn: ids(1000) }).dependsOn).toHaveLength(1000);
    expect(refusal({ kind: 'k', dependsOn: ids(1001) }).issues[0]).toMatchObject({ path: 'dependsOn', code: 'ORC_PROTOCOL_OUT_OF_RANGE' });
  });

  it('refuses a payload larger than 1 MiB once encoded with ORC_PROTOCOL_TOO_LARGE on payload', () => {
    const err = refusal({ kind: 'k', payload: { blob: 'x'.repeat(MAX_PAYLOAD_BYTES) } });
    expect(err).toMatchObject({ code: 'ORC_PROTOCOL_TOO_LARGE', issues: [{ path: 'payload', code: 'ORC_PROTOCOL_TOO_LARGE' }] });
  });

  it('measures the payload limit in encoded UTF-8 bytes, allowing exactly the limit', () => {
    const payload = 'é'.repeat(50); // "…" = 2 quote bytes + 100 bytes
    expect(validateNewTask({ kind: 'k', payload }, 102).payload).toBe(payload);
    expect(refusal({ kind: 'k', payload }, 101).code).toBe('ORC_PROTOCOL_TOO_LARGE');
  });

  it('refuses a payload JSON cannot carry', () => {
    for (const payload of [{ n: Number.NaN }, [Number.POSITIVE_INFINITY], { f: () => 1 }, { d: new Date(0) }, { u: undefined }]) {
      expect(within(refusal({ kind: 'k', payload }).issues[0]!.path, 'payload')).toBe(true);
    }
  });

  it('refuses a payload nested 10,000 levels deep, or containing itself, with a ValidationError rather than a stack overflow', () => {
    const depth = 10_000;
    const deep = JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown;
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    for (const payload of [deep, loop]) {
      let err: unknown;
      try {
        validateNewTask({ kind: 'k', payload });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]!.path).toSatisfy((p: string) => within(p, 'payload'));
    }
  });

  it('refuses an unknown field with ORC_PROTOCOL_UNKNOWN_FIELD, naming it', () => {
    const err = refusal({ kind: 'k', status: 'COMPLETED' });
    expect(err.issues[0]).toMatchObject({ path: '(root)', code: 'ORC_PROTOCOL_UNKNOWN_FIELD' });
    expect(err.message).toContain('status');
  });

  it.each<[string, unknown, ErrorCode]>([
    ['maxAttempts', 0, 'ORC_PROTOCOL_OUT_OF_RANGE'],
    ['maxAttempts', 101, 'ORC_PROTOCOL_OUT_OF_RANGE'],
    ['idempotencyKey', '', 'ORC_PROTOCOL_OUT_OF_RANGE'],
    ['idempotencyKey', 'k'.repeat(201), 'ORC_PROTOCOL_OUT_OF_RANGE'],
    ['runAt', -1, 'ORC_PROTOCOL_OUT_OF_RANGE'],
    ['runAt', '2026-01-01', 'ORC_PROTOCOL_WRONG_TYPE'],
    ['taskId', 'has space', 'ORC_PROTOCOL_INVALID_VALUE'],
    ['taskId', 'x'.repeat(101), 'ORC_PROTOCOL_OUT_OF_RANGE'],
  ])('refuses %s %j with %s', (field, value, code) => {
    expect(refusal({ kind: 'k', [field]: value }).issues[0]).toMatchObject({ path: field, code });
  });
});

// ---------------------------------------------------------------------------
// 1,000 generated malformed task bodies

interface Malformed {
  what: string;
  body: unknown;
  path: string;
  code?: ErrorCode;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;

const valid = { kind: 'email.send', payload: { to: 'a@b.c' }, priority: 3, dependsOn: ['t-1'], maxAttempts: 2, idempotencyKey: 'k-1', taskId: 'job-1', runAt: 0 };

const WRONG_TYPES: Record<string, unknown[]> = {
  kind: [7, true, null, [], {}, ['email.send']],
  priority: ['5', true, null, [], {}, 2.5, 9.99],
  dependsOn: ['t-1', 7, null, {}, true],
  maxAttempts: ['3', null, [], 1.5],
  idempotencyKey: [7, null, [], {}],
  taskId: [7, null, false, {}],
  runAt: ['now', null, [], 0.5],
};

const BIG = 'x'.repeat(MAX_PAYLOAD_BYTES + 2048);

function generateMalformed(i: number, rng: Rng): Malformed {
  switch (i % 8) {
    case 0:
      return { what: 'no kind', body: { ...valid, kind: undefined }, path: 'kind', code: 'ORC_PROTOCOL_MISSING_FIELD' };
    case 1: {
      const field = pick(rng, Object.keys(WRONG_TYPES));
      const value = pick(rng, WRONG_TYPES[field]!);
      return { what: `${field} = ${JSON.stringify(value)}`, body: { ...valid, [field]: value }, path: field };
    }
    case 2: {
      const priority = pick(rng, [0, 11, -1, 100, 2 ** 31, -(2 ** 31)]);
      return { what: `priority ${priority}`, body: { ...valid, priority }, path: 'priority', code: 'ORC_PROTOCOL_OUT_OF_RANGE' };
    }
    case 3: {
      const kind = pick(rng, ['Email', 'a b', '-x', '_x', '.x', 'x/y', 'x@y', 'ü', 'X', `K${i}`, 'tab\t']);
      return { what: `kind ${JSON.stringify(kind)}`, body: { ...valid, kind }, path: 'kind', code: 'ORC_PROTOCOL_INVALID_VALUE' };
    }
    case 4: {
      const extra = pick(rng, ['status', 'result', 'attempt', 'Kind', 'workerId', '__proto__', 'constructor', `f${i}`]);
      const body = { ...valid, [extra]: i };
      return { what: `unknown ${extra}`, body, path: '(root)', code: 'ORC_PROTOCOL_UNKNOWN_FIELD' };
    }
    case 5: {
      const size = MAX_PAYLOAD_BYTES + Math.floor(rng.next() * 2048);
      const payload = pick(rng, [BIG.slice(0, size), { blob: BIG.slice(0, size) }, [BIG.slice(0, size)]]);
      return { what: 'oversized payload', body: { ...valid, payload }, path: 'payload', code: 'ORC_PROTOCOL_TOO_LARGE' };
    }
    case 6: {
      const deps = pick(rng, [['a', 'a'], ['a', 'b', 'c', 'b'], ['x', 'y', 'x', 'y']]);
      return { what: `dependsOn ${deps.join(',')}`, body: { ...valid, dependsOn: deps }, path: 'dependsOn', code: 'ORC_PROTOCOL_INVALID_VALUE' };
    }
    default: {
      const bad = pick(rng, ['', 'has space', '-lead', 'a/b', 7, null]);
      const at = Math.floor(rng.next() * 3);
      const dependsOn = ['d0', 'd1', 'd2'];
      (dependsOn as unknown[])[at] = bad;
      return { what: `dependsOn[${at}] = ${JSON.stringify(bad)}`, body: { ...valid, dependsOn }, path: `dependsOn.${at}` };
    }
  }
}

describe('1,000 generated malformed task bodies', () => {
  it('are each refused with a ValidationError carrying a known code and the path of the broken field', () => {
    const rng = createRng(7);
    const codes = Object.keys(ERROR_CODES);
    const wrong: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const c = generateMalformed(i, rng);
      let err: unknown;
      try {
        validateNewTask(c.body);
        wrong.push(`#${i} ${c.what}: accepted`);
        continue;
      } catch (e) {
        err = e;
      }
      if (!(err instanceof ValidationError)) {
        wrong.push(`#${i} ${c.what}: threw ${(err as Error)?.name}`);
        continue;
      }
      const first = err.issues[0];
      if (!codes.includes(err.code) || !first?.path) wrong.push(`#${i} ${c.what}: ${JSON.stringify(err.issues)}`);
      else if (!within(first.path, c.path)) wrong.push(`#${i} ${c.what}: path ${first.path}, expected ${c.path}`);
      else if (c.code && err.code !== c.code) wrong.push(`#${i} ${c.what}: code ${err.code}, expected ${c.code}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('taskToJson', () => {
  const task: Task = {
    taskId: 'job-1',
    status: 'RUNNING',
    kind: 'email.send',
    payload: { to: 'a@b.c' },
    priority: 2,
    result: null,
    error: null,
    workerId: 'worker-1',
    attempt: 1,
    dependsOn: ['t-0'],
    createdAt: Date.UTC(2026, 0, 1, 9, 30),
    updatedAt: Date.UTC(2026, 0, 1, 9, 31, 5, 250),
    maxAttempts: 3,
    idempotencyKey: null,
    runAt: 0,
    leaseExpiresAt: Date.UTC(2026, 0, 1, 9, 32),
    timeoutMs: 60_000,
  };

  it('renders every timestamp as an ISO-8601 string in UTC', () => {
    expect(taskToJson(task)).toMatchObject({
      createdAt: '2026-01-01T09:30:00.000Z',
      updatedAt: '2026-01-01T09:31:05.250Z',
      runAt: '1970-01-01T00:00:00.000Z',
      leaseExpiresAt: '2026-01-01T09:32:00.000Z',
    });
  });

  it('keeps an absent lease as null and every other field as it is', () => {
    const json = taskToJson({ ...task, status: 'PENDING', workerId: null, leaseExpiresAt: null });
    expect(json.leaseExpiresAt).toBeNull();
    expect(json).toMatchObject({ taskId: 'job-1', status: 'PENDING', kind: 'email.send', payload: { to: 'a@b.c' }, priority: 2, workerId: null, attempt: 1, dependsOn: ['t-0'], maxAttempts: 3, idempotencyKey: null, timeoutMs: 60_000 });
    expect(Object.keys(json).sort()).toEqual(Object.keys(task).sort());
  });

  it('survives JSON encoding unchanged, error included', () => {
    const failed: Task = { ...task, status: 'FAILED', error: { code: 'ORC_WORKER_HANDLER_FAILED', message: 'boom', retryable: false, attempt: 1, details: { stderr: 'x' } } };
    const json = taskToJson(failed);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.error).toEqual(failed.error);
  });
});
