import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createRng, ManualClock } from '../../src/protocol/index.js';
import { IN_MEMORY, migrate, openPglite, revokeToken, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createApiServer, createToken, type ApiServer } from '../../src/api/index.js';

const NOW = Date.UTC(2026, 0, 1);

/** Every route with a request that passes validation, and who may call it. */
/** `bus`: the route reaches the agents, so this server (no bus) answers 503 to whoever may call it. */
const ROUTES: { method: 'GET' | 'POST'; url: string; access: 'viewer' | 'admin'; body?: unknown; bus?: true }[] = [
  { method: 'GET', url: '/readyz', access: 'viewer' },
  { method: 'GET', url: '/api/status', access: 'viewer' },
  { method: 'GET', url: '/api/tasks', access: 'viewer' },
  { method: 'GET', url: '/api/tasks/stats', access: 'viewer' },
  { method: 'GET', url: '/api/tasks/seed-task', access: 'viewer' },
  { method: 'GET', url: '/api/dead-letters', access: 'viewer' },
  { method: 'GET', url: '/api/agents', access: 'viewer', bus: true },
  { method: 'GET', url: '/metrics', access: 'viewer' },
  { method: 'GET', url: '/api/studies', access: 'viewer' },
  { method: 'GET', url: '/api/studies/none/generations', access: 'viewer' },
  { method: 'GET', url: '/api/studies/none/best', access: 'viewer' },
  { method: 'GET', url: '/api/studies/none/combinations', access: 'viewer' },
  { method: 'GET', url: '/api/studies/none/reports', access: 'viewer' },
  { method: 'GET', url: '/api/studies/none/evaluations', access: 'viewer' },
  { method: 'GET', url: '/api/bots', access: 'viewer' },
  { method: 'GET', url: '/api/bots/none', access: 'viewer' },
  { method: 'GET', url: '/api/campaigns', access: 'viewer' },
  { method: 'GET', url: '/api/campaigns/none', access: 'viewer' },
  { method: 'GET', url: '/api/alerts', access: 'viewer' },
  {
    method: 'POST',
    url: '/api/studies',
    access: 'admin',
    body: { studyId: 's', space: { variables: { x: { type: 'float', min: 0, max: 1 } } }, workload: 'synthetic', budget: 1 },
    bus: true,
  },
  { method: 'POST', url: '/api/studies/none/trigger', access: 'admin' },
  { method: 'POST', url: '/api/studies/none/stop', access: 'admin', body: {} },
  { method: 'POST', url: '/api/bots/none/restart', access: 'admin', body: {} },
  { method: 'POST', url: '/api/bots/none/isolate', access: 'admin' },
  { method: 'POST', url: '/api/bots/none/reinstate', access: 'admin' },
  { method: 'POST', url: '/api/bots/none/drain', access: 'admin' },
  { method: 'POST', url: '/api/bots/none/resume', access: 'admin' },
  { method: 'POST', url: '/api/campaigns/none/stop', access: 'admin' },
  { method: 'POST', url: '/api/tasks', access: 'admin', body: { kind: 'echo', payload: { n: 1 } } },
  { method: 'POST', url: '/api/tasks/seed-task/cancel', access: 'admin', body: {} },
  { method: 'POST', url: '/api/tasks/seed-task/retry', access: 'admin' },
];

describe('the HTTP API on the embedded store', () => {
  let db: Db;
  let clock: ManualClock;
  let registry: TaskRegistry;
  let app: ApiServer;
  const tokens: Record<'admin' | 'viewer' | 'bot', string> = { admin: '', viewer: '', bot: '' };

  beforeAll(async () => {
    clock = new ManualClock(NOW);
    db = await openPglite({ dataDir: IN_MEMORY, schema: 'orchestra' });
    await migrate(db, NOW);
    registry = new TaskRegistry({ db, clock, rng: createRng(1) });
    await registry.register({ taskId: 'seed-task', kind: 'echo', payload: { n: 0 } });
    for (const role of ['admin', 'viewer', 'bot'] as const) tokens[role] = (await createToken(db, { name: role, role }, NOW)).token;
    app = await createApiServer({ db, registry, clock }, { bodyLimitBytes: 64 * 1024, rateLimitPerMinute: 100_000 });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const call = (method: 'GET' | 'POST', url: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    app.inject({
      method,
      url,
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
      ...(options.body === undefined ? {} : { payload: options.body as Record<string, unknown> }),
    });

  it('answers /healthz without a token', async () => {
    const res = await call('GET', '/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true });
  });

  it.each(ROUTES.map((r) => [`${r.method} ${r.url}`, r] as const))('%s: 401 without a token or with a wrong one, 403 for a role that may not, allowed for one that may', async (_name, route) => {
    for (const token of [undefined, 'orc_not-a-token', 'not even the shape']) {
      const res = await call(route.method, route.url, { ...(token ? { token } : {}), body: route.body });
      expect(res.statusCode, `token ${String(token)}`).toBe(401);
      expect(res.json()).toMatchObject({ code: 'ORC_API_UNAUTHORIZED' });
    }
    const bot = await call(route.method, route.url, { token: tokens.bot, body: route.body });
    expect(bot.statusCode).toBe(403);
    expect(bot.json()).toMatchObject({ code: 'ORC_API_FORBIDDEN' });
    const viewer = await call(route.method, route.url, { token: tokens.viewer, body: route.body });
    if (route.access === 'admin') expect(viewer.statusCode).toBe(403);
    else expect(route.bus ? [503] : [200, 404]).toContain(viewer.statusCode);
    const admin = await call(route.method, route.url, { token: tokens.admin, body: route.body });
    expect(admin.statusCode, admin.body).not.toBe(401);
    expect(admin.statusCode, admin.body).not.toBe(403);
    if (route.bus) expect(admin.statusCode, admin.body).toBe(503);
    else expect(admin.statusCode, admin.body).toBeLessThan(500);
  });

  it('answers /events with 503 and its code when the process has no bus to follow', async () => {
    const res = await call('GET', '/events', { token: tokens.viewer });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'ORC_API_UNAVAILABLE', message: expect.stringContaining('no bus') });
  });

  it('registers, reads, cancels and retries a task; conflicts are 409 and unknown ids 404, each with its code', async () => {
    const token = tokens.admin;
    const created = await call('POST', '/api/tasks', { token, body: { kind: 'resize', payload: { file: 'a.png' }, idempotencyKey: 'once' } });
    expect(created.statusCode).toBe(201);
    const [task] = created.json().tasks as { taskId: string; created: boolean; status: string }[];
    expect(task).toMatchObject({ created: true, status: 'PENDING' });
    const again = await call('POST', '/api/tasks', { token, body: { kind: 'resize', payload: { file: 'a.png' }, idempotencyKey: 'once' } });
    expect(again.json().tasks[0]).toMatchObject({ taskId: task!.taskId, created: false });
    const conflict = await call('POST', '/api/tasks', { token, body: { kind: 'other', idempotencyKey: 'once' } });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ code: 'ORC_REGISTRY_IDEMPOTENCY_CONFLICT' });

    const many = await call('POST', '/api/tasks', { token, body: { tasks: [{ kind: 'a' }, { kind: 'b', priority: 1 }] } });
    expect(many.statusCode).toBe(201);
    expect(many.json().tasks).toHaveLength(2);

    const shown = await call('GET', `/api/tasks/${task!.taskId}`, { token: tokens.viewer });
    expect(shown.json()).toMatchObject({ task: { taskId: task!.taskId, kind: 'resize', payload: { file: 'a.png' } }, lateReports: [] });
    const listed = await call('GET', '/api/tasks?status=PENDING&kind=a,b&limit=1', { token: tokens.viewer });
    expect(listed.json()).toMatchObject({ tasks: [expect.objectContaining({ status: 'PENDING', kind: 'b' })], next: expect.any(String) });
    const second = await call('GET', `/api/tasks?status=PENDING&kind=a,b&limit=1&cursor=${listed.json().next}`, { token: tokens.viewer });
    expect(second.json()).toMatchObject({ tasks: [expect.objectContaining({ kind: 'a' })] });

    expect((await call('POST', `/api/tasks/${task!.taskId}/cancel`, { token, body: { reason: 'not needed' } })).json()).toMatchObject({ task: { status: 'CANCELLED' } });
    const twice = await call('POST', `/api/tasks/${task!.taskId}/cancel`, { token, body: {} });
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ code: 'ORC_REGISTRY_INVALID_TRANSITION' });
    expect((await call('POST', `/api/tasks/${task!.taskId}/retry`, { token })).json().tasks[0]).toMatchObject({ status: 'PENDING' });

    const missing = await call('GET', '/api/tasks/no-such-task', { token });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ code: 'ORC_REGISTRY_TASK_NOT_FOUND', message: 'no task has id no-such-task' });
    const study = await call('GET', '/api/studies/nope/best', { token });
    expect(study.statusCode).toBe(404);
    expect(study.json()).toMatchObject({ code: 'ORC_CLI_STUDY_NOT_FOUND' });
  });

  it('finds tasks by their id or its start, literally, a page at a time', async () => {
    const token = tokens.admin;
    const ids = ['find-me-1', 'find-me-10', 'find-me-2', 'find_me', 'findxme', 'other-find-me-1'];
    expect((await call('POST', '/api/tasks', { token, body: { tasks: ids.map((taskId) => ({ taskId, kind: 'search' })) } })).statusCode).toBe(201);
    const found = async (query: string) => {
      const res = await call('GET', `/api/tasks?${query}`, { token: tokens.viewer });
      expect(res.statusCode, query).toBe(200);
      return (res.json().tasks as { taskId: string }[]).map((t) => t.taskId).sort();
    };
    expect(await found('search=find-me-1')).toEqual(['find-me-1', 'find-me-10']);
    expect(await found('search=find-me-10')).toEqual(['find-me-10']);
    // `_` and `%` are themselves, not wildcards.
    expect(await found('search=find_')).toEqual(['find_me']);
    expect(await found(`search=${encodeURIComponent('find%')}`)).toEqual([]);
    expect(await found(`search=${encodeURIComponent('find\\')}`)).toEqual([]);
    expect(await found('search=FIND-ME')).toEqual([]);
    // With the other filters, and paged by cursor.
    expect(await found('search=find-me&status=COMPLETED')).toEqual([]);
    const first = (await call('GET', '/api/tasks?search=find-me-&limit=2', { token })).json() as { tasks: { taskId: string }[]; next: string };
    expect(first.tasks.map((t) => t.taskId)).toEqual(['find-me-2', 'find-me-10']);
    const rest = (await call('GET', `/api/tasks?search=find-me-&limit=2&cursor=${first.next}`, { token })).json() as { tasks: { taskId: string }[]; next: string | null };
    expect(rest).toEqual({ tasks: [expect.objectContaining({ taskId: 'find-me-1' })], next: null });
  });

  it('refuses bad input with 400 naming the field, never a 5xx', async () => {
    const token = tokens.admin;
    const cases: [string, 'GET' | 'POST', string, unknown, string][] = [
      ['a limit out of range', 'GET', '/api/tasks?limit=0', undefined, 'querystring.limit'],
      ['an unknown status', 'GET', '/api/tasks?status=DONE', undefined, 'querystring.status'],
      ['an unknown query field', 'GET', '/api/tasks?colour=red', undefined, 'querystring'],
      ['a cursor no page gave', 'GET', '/api/tasks?cursor=42', undefined, 'querystring.cursor'],
      ['an empty search', 'GET', '/api/tasks?search=', undefined, 'querystring.search'],
      ['a search longer than any task id', 'GET', `/api/tasks?search=${'x'.repeat(101)}`, undefined, 'querystring.search'],
      ['a generation that is no number', 'GET', '/api/studies/none/combinations?generation=last', undefined, 'querystring.generation'],
      ['a negative generation', 'GET', '/api/studies/none/combinations?generation=-1', undefined, 'querystring.generation'],
      ['a task without a kind', 'POST', '/api/tasks', { payload: {} }, 'kind'],
      ['a priority out of range', 'POST', '/api/tasks', { kind: 'x', priority: 11 }, 'priority'],
      ['a reason of the wrong type', 'POST', '/api/tasks/seed-task/cancel', { reason: 5 }, 'body.reason'],
      ['an empty batch', 'POST', '/api/tasks', { tasks: [] }, 'tasks'],
      ['a batch with something beside it', 'POST', '/api/tasks', { tasks: [{ kind: 'x' }], kind: 'y' }, 'tasks'],
    ];
    for (const [what, method, url, body, field] of cases) {
      const res = await call(method, url, { token, body });
      expect(res.statusCode, what).toBe(400);
      expect(JSON.stringify(res.json()), what).toContain(field);
      expect(res.json().code, what).toMatch(/^ORC_/);
    }
    const broken = await call('POST', '/api/tasks', { token, body: '{"kind": ', headers: { 'content-type': 'application/json' } });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().code).toBe('ORC_API_INVALID_REQUEST');
  });

  it('refuses a body over the limit with 413, and an unknown route with 404', async () => {
    const big = await call('POST', '/api/tasks', { token: tokens.admin, body: { kind: 'x', payload: { blob: 'x'.repeat(100 * 1024) } } });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: 'ORC_API_TOO_LARGE' });
    const nowhere = await call('GET', '/api/nowhere', { token: tokens.admin });
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.json()).toMatchObject({ code: 'ORC_API_NOT_FOUND' });
  });

  it('serves Prometheus metrics of the tasks, the queue and this process', async () => {
    const res = await call('GET', '/metrics', { token: tokens.viewer });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const counts = await registry.counts();
    const pending = res.body.split('\n').filter((l) => l.startsWith('orchestra_tasks{status="PENDING"')).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    expect(pending).toBe(counts.byStatus.PENDING);
    expect(res.body).toContain(`orchestra_queue_depth ${counts.byStatus.PENDING}`);
    expect(res.body).toMatch(/orchestra_tasks_by_kind\{kind="echo",status="[A-Z]+"\} \d+/);
    expect(res.body).toMatch(/^orchestra_dead_letters 0$/m);
    expect(res.body).toMatch(/^orchestra_process_resident_memory_bytes \d+/m);
  });

  it('refuses a revoked token and an expired one', async () => {
    const { token, row } = await createToken(db, { name: 'short', role: 'viewer', expiresAt: NOW + 1_000 }, NOW);
    expect((await call('GET', '/api/status', { token })).statusCode).toBe(200);
    await clock.advance(1_000);
    expect((await call('GET', '/api/status', { token })).statusCode).toBe(401);
    const other = await createToken(db, { name: 'revoked', role: 'viewer' }, clock.now());
    expect(await revokeToken(db, other.row.tokenId, clock.now())).toBe(true);
    expect((await call('GET', '/api/status', { token: other.token })).statusCode).toBe(401);
    expect(row.role).toBe('viewer');
    // A token in use is looked up again after api.tokenRecheckMs: its revocation takes effect by then.
    const used = await createToken(db, { name: 'used', role: 'viewer' }, clock.now());
    expect((await call('GET', '/api/status', { token: used.token })).statusCode).toBe(200);
    await revokeToken(db, used.row.tokenId, clock.now());
    await clock.advance(5_000);
    expect((await call('GET', '/api/status', { token: used.token })).statusCode).toBe(401);
  });

  it('describes every route in /openapi.json, generated from the schemas that validate', async () => {
    const doc = (await call('GET', '/openapi.json')).json() as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string }[] }>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const route of ROUTES) {
      const path = route.url
        .replace('seed-task', '{taskId}')
        .replace(/^\/api\/studies\/none/, '/api/studies/{studyId}')
        .replace(/^\/api\/bots\/none/, '/api/bots/{botId}')
        .replace(/^\/api\/campaigns\/none/, '/api/campaigns/{campaignId}');
      expect(doc.paths[path], path).toBeDefined();
      expect(doc.paths[path]![route.method.toLowerCase()], `${route.method} ${path}`).toBeDefined();
    }
    expect(doc.paths['/api/tasks']!.get!.parameters!.map((p) => p.name).sort()).toEqual(['cursor', 'kind', 'limit', 'offset', 'search', 'status']);
    const docs = await call('GET', '/docs/');
    expect(docs.statusCode).toBe(200);
  });
});

describe('the API under a rate limit', () => {
  it('answers 429 with its code once a token has sent its requests for the minute', async () => {
    const clock = new ManualClock(NOW);
    const db = await openPglite({ dataDir: IN_MEMORY, schema: 'orchestra' });
    await migrate(db, NOW);
    const app = await createApiServer({ db, registry: new TaskRegistry({ db, clock, rng: createRng(1) }), clock }, { rateLimitPerMinute: 3 });
    try {
      const { token } = await createToken(db, { name: 'v', role: 'viewer' }, NOW);
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await app.inject({ method: 'GET', url: '/api/status', headers: { authorization: `Bearer ${token}` } })).statusCode);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      const limited = await app.inject({ method: 'GET', url: '/api/status', headers: { authorization: `Bearer ${token}` } });
      expect(limited.json()).toMatchObject({ code: 'ORC_API_RATE_LIMITED' });
    } finally {
      await app.close();
      await db.close();
    }
  });
});
