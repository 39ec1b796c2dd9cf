import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { AddressInfo } from 'node:net';
import { createRng, systemClock, type Rng } from '../../src/protocol/index.js';
import { IN_MEMORY, migrate, openPglite, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createApiServer, createToken, type ApiServer } from '../../src/api/index.js';

const REQUESTS = 5_000;
const AT_ONCE = 32;

/** Generated, not listed: a route, a method, a token of any kind, a query and a body, each likely wrong somewhere. */
function badRequest(rng: Rng, tokens: { admin: string; viewer: string; bot: string }): { method: string; path: string; headers: Record<string, string>; body?: string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
  const junk = () => pick(['', '%', '%zz', '../../etc/passwd', 'x'.repeat(5_000), '\u0000', '😀', '-1', '1e309', 'null', '[]', '{"a":1}']);
  const path = pick([
    '/api/tasks',
    `/api/tasks?limit=${junk()}`,
    `/api/tasks?status=${junk()}&kind=${junk()}`,
    `/api/tasks?offset=${junk()}&extra=${junk()}`,
    `/api/tasks/${encodeURIComponent(junk())}`,
    `/api/tasks/${encodeURIComponent(junk())}/cancel`,
    `/api/tasks/${encodeURIComponent(junk())}/retry`,
    '/api/tasks/stats',
    `/api/studies/${encodeURIComponent(junk())}/best`,
    `/api/dead-letters?limit=${junk()}`,
    `/api/${junk()}`,
    '/readyz',
  ]);
  const method = pick(['GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH']);
  const token = pick([undefined, 'orc_forged', tokens.bot, tokens.viewer, tokens.admin, 'Bearer', junk()]);
  const body = pick([
    undefined,
    '',
    '{',
    'not json',
    JSON.stringify({ kind: 5 }),
    JSON.stringify({ kind: '', payload: junk() }),
    JSON.stringify({ kind: 'x', priority: rng.next() * 100 - 50 }),
    JSON.stringify({ kind: 'x', dependsOn: [junk()] }),
    JSON.stringify({ tasks: [{ kind: 'x' }, { kind: 7 }] }),
    JSON.stringify({ tasks: [] }),
    JSON.stringify({ kind: 'x', payload: { big: 'y'.repeat(70_000) } }),
    JSON.stringify({ kind: 'x', maxAttempts: 0 }),
    JSON.stringify({ reason: 42 }),
    JSON.stringify({ kind: 'x', idempotencyKey: '' }),
    JSON.stringify({ kind: 'x\u0000y' }),
  ]);
  const headers: Record<string, string> = {};
  // A header can carry only visible ASCII; what else the junk holds goes in as '?'.
  if (token !== undefined) headers.authorization = `Bearer ${token.replace(/[^\x21-\x7e]/g, '?') || '?'}`.slice(0, 300);
  if (body !== undefined) headers['content-type'] = pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded']);
  return { method, path, headers, ...(body !== undefined && method !== 'GET' ? { body } : {}) };
}

describe('the API under a storm of bad requests', { timeout: 300_000 }, () => {
  let db: Db;
  let registry: TaskRegistry;
  let app: ApiServer;
  let url: string;
  const tokens = { admin: '', viewer: '', bot: '' };

  beforeAll(async () => {
    db = await openPglite({ dataDir: IN_MEMORY, schema: 'orchestra' });
    await migrate(db, systemClock.now());
    registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1) });
    for (const role of ['admin', 'viewer', 'bot'] as const) tokens[role] = (await createToken(db, { name: role, role }, systemClock.now())).token;
    app = await createApiServer({ db, registry, clock: systemClock }, { bodyLimitBytes: 64 * 1024, rateLimitPerMinute: 1_000_000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it(`answers ${REQUESTS} generated malformed, oversized, unauthenticated and wrong-role requests with a 4xx and a code, and writes nothing half-way`, async () => {
    const rng = createRng(20261204);
    const statuses = new Map<number, number>();
    const unexplained: string[] = [];
    const before = await registry.counts();
    const rssBefore = process.memoryUsage().rss;
    let accepted = 0;
    for (let sent = 0; sent < REQUESTS; sent += AT_ONCE) {
      await Promise.all(
        Array.from({ length: Math.min(AT_ONCE, REQUESTS - sent) }, async () => {
          const req = badRequest(rng, tokens);
          const res = await fetch(`${url}${req.path}`, { method: req.method, headers: req.headers, ...(req.body !== undefined ? { body: req.body } : {}) });
          const text = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 201) accepted += (JSON.parse(text) as { tasks: { created: boolean }[] }).tasks.filter((t) => t.created).length;
          if (res.status >= 500) unexplained.push(`${res.status} ${req.method} ${req.path.slice(0, 80)}: ${text.slice(0, 200)}`);
          else if (res.status >= 400) {
            const body = JSON.parse(text) as { code?: unknown; message?: unknown };
            if (typeof body.code !== 'string' || !body.code.startsWith('ORC_') || typeof body.message !== 'string') unexplained.push(`${res.status} without a code: ${text.slice(0, 200)}`);
          }
        }),
      );
    }
    expect(unexplained).toEqual([]);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    // Most of the storm is refused; what was accepted is exactly the tasks the answers said were created.
    const after = await registry.counts();
    expect(after.total - before.total).toBe(accepted);
    for (const task of await registry.list({ limit: 10_000 })) expect(task.kind.length).toBeGreaterThan(0);
    // Still up, still answering.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 1024 * 1024);
    expect((statuses.get(401) ?? 0) + (statuses.get(403) ?? 0) + (statuses.get(400) ?? 0) + (statuses.get(404) ?? 0)).toBeGreaterThan(REQUESTS / 2);
  });
});
