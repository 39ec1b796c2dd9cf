import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { ERROR_CODES, ManualClock, ValidationError, createRng } from '../../src/protocol/index.js';
import { openStore, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';

/** 1,000 task bodies, each wrong in one way a client could get wrong. */
function malformedBodies(): unknown[] {
  const wrong: unknown[] = [
    null,
    42,
    'a string',
    [],
    {},
    { kind: '' },
    { kind: 'UPPER' },
    { kind: 'has space' },
    { kind: 7 },
    { kind: 'x'.repeat(101) },
    { kind: 'ok', priority: 0 },
    { kind: 'ok', priority: 11 },
    { kind: 'ok', priority: 2.5 },
    { kind: 'ok', priority: '1' },
    { kind: 'ok', payload: Number.NaN },
    { kind: 'ok', payload: { deep: [Number.POSITIVE_INFINITY] } },
    { kind: 'ok', dependsOn: 'not-a-list' },
    { kind: 'ok', dependsOn: ['a', 'a'] },
    { kind: 'ok', dependsOn: ['bad id!'] },
    { kind: 'ok', maxAttempts: 0 },
    { kind: 'ok', maxAttempts: 101 },
    { kind: 'ok', idempotencyKey: '' },
    { kind: 'ok', runAt: -1 },
    { kind: 'ok', command: 'rm -rf /' },
    { kind: 'ok', taskId: '' },
    { kind: 'ok', payload: { blob: 'x'.repeat(1024 * 1024) } },
  ];
  return Array.from({ length: 1000 }, (_, i) => {
    const body = wrong[i % wrong.length];
    // Vary the bodies so they are not the same thousand objects.
    return body && typeof body === 'object' && !Array.isArray(body) ? { ...body, ...(i % 3 === 0 ? { unknownField: i } : {}) } : body;
  });
}

describe('registry facing malformed task bodies', () => {
  let db: Db;
  let registry: TaskRegistry;

  beforeAll(async () => {
    const clock = new ManualClock();
    ({ db } = await openStore({ dataDir: ':memory:' }, clock.now()));
    registry = new TaskRegistry({ db, clock, rng: createRng(3) });
  });

  afterAll(async () => {
    await db.close();
  });

  it('rejects each of 1,000 malformed bodies with a stable code and the field, and keeps working', async () => {
    const codes = new Map<string, number>();
    for (const body of malformedBodies()) {
      const err = await registry.register(body as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      const { code, issues } = err as ValidationError;
      expect(Object.keys(ERROR_CODES)).toContain(code);
      expect(issues[0]!.path).toBeTruthy();
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(codes.size).toBeGreaterThanOrEqual(5);
    expect((await registry.counts()).total).toBe(0);
    const { task } = await registry.register({ kind: 'ok', payload: { still: 'working' } });
    expect((await registry.claim({ kinds: ['ok'], workerId: 'w', limit: 1 }))[0]?.taskId).toBe(task.taskId);
  });
});
