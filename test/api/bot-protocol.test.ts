import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { createRng, systemClock, TEST_BACKLOG_KIND } from '../../src/protocol/index.js';
import { getBot, registerBot, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createMemoryBus, type MemoryBus } from '../../src/bus/index.js';
import { BotAgent } from '../../src/agents/index.js';
import { createApiServer, createToken, type ApiServer } from '../../src/api/index.js';
import { embeddedStore, until } from '../agents/helpers.js';

const evaluation = { success: true, value: 1.5, metrics: { size: 3 }, reason: null, durationMs: 4 };

/**
 * The bot protocol on the embedded default (PGlite, the memory bus) with a
 * running bot agent: a remote bot registers, long-polls for the tests the
 * agent hands it, reports them under the lease's fence, and learns of its
 * restart and isolation when it next calls in. Its token reaches its own
 * routes and nothing else.
 */
describe('the bot protocol over HTTP', () => {
  const store = embeddedStore();
  let db: Db;
  let bus: MemoryBus;
  let registry: TaskRegistry;
  let agent: BotAgent;
  let app: ApiServer;
  const tokens = { admin: '', viewer: '', registration: '' };
  const clock = systemClock;
  let trial = 0;

  beforeEach(async () => {
    db = await store.reset(clock.now());
    bus = createMemoryBus({ clock });
    registry = new TaskRegistry({ db, clock, rng: createRng(1), bus, config: { backoffBaseMs: 10, backoffMaxMs: 10 } });
    const fleet = { checkIntervalMs: 50, heartbeatIntervalMs: 1_000 };
    agent = new BotAgent({ bus, clock, db, registry, fleet });
    await agent.start();
    app = await createApiServer({ db, registry, clock, bus, fleet }, { rateLimitPerMinute: 100_000, botPollWaitMs: 120_000, botPollIntervalMs: 20, tokenRecheckMs: 0 });
    tokens.admin = (await createToken(db, { name: 'admin', role: 'admin' }, clock.now())).token;
    tokens.viewer = (await createToken(db, { name: 'viewer', role: 'viewer' }, clock.now())).token;
    tokens.registration = (await createToken(db, { name: 'fleet', role: 'bot' }, clock.now())).token;
  });
  afterEach(async () => {
    await app.close();
    await agent.stop();
    await bus.close();
  });

  const call = async (url: string, token: string | undefined, body?: unknown, method: 'GET' | 'POST' = 'POST') => {
    const res = await app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(body === undefined ? {} : { payload: body as Record<string, unknown> }) });
    return { status: res.statusCode, body: res.json() as Record<string, any> };
  };
  const register = async (botId: string, token = tokens.registration) => call('/api/fleet/register', token, { botId, group: 'lab' });
  const addTests = async (n: number) =>
    registry.registerMany(
      Array.from({ length: n }, () => {
        const t = trial++;
        return { taskId: `t${t}`, kind: TEST_BACKLOG_KIND, payload: { workload: 'synthetic', studyId: 's', key: `k${t}`, variables: { x: t }, trial: t, generation: 0 } };
      }),
    );

  it('registers a bot with a token of its own, which reaches only that bot’s routes', async () => {
    expect((await call('/api/fleet/register', undefined, { botId: 'a' })).status).toBe(401);
    expect((await register('a', tokens.viewer)).body.code).toBe('ORC_API_FORBIDDEN');
    const a = await register('a');
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ bot: { botId: 'a', group: 'lab', state: 'online', transport: 'http' }, maxTasksPerBot: 3, heartbeatIntervalMs: 1_000 });
    const b = await register('b', tokens.admin);
    expect(b.status).toBe(200);
    const tokenA = a.body.token as string;

    expect((await call('/api/fleet/bots/a/heartbeat', tokenA, {})).body).toEqual({ directive: 'run', state: 'online', lost: [] });
    // Not another bot's routes, not registration, not a single route of viewers or admins.
    for (const url of ['/api/fleet/bots/b/heartbeat', '/api/fleet/bots/b/claim', '/api/fleet/register']) {
      const res = await call(url, tokenA, url.endsWith('claim') ? { free: 1 } : url.endsWith('register') ? { botId: 'c' } : {});
      expect(res.status, url).toBe(403);
      expect(res.body.message).toContain('bot a');
    }
    for (const url of ['/api/tasks', '/api/bots', '/api/status', '/events']) expect((await call(url, tokenA, undefined, 'GET')).status, url).toBe(403);
    expect((await call('/api/bots/a/isolate', tokenA, {})).status).toBe(403);
    // A registration token registers; it is no bot's token.
    expect((await call('/api/fleet/bots/a/heartbeat', tokens.registration, {})).status).toBe(403);
    // An admin token is no bot's token either.
    expect((await call('/api/fleet/bots/a/heartbeat', tokens.admin, {})).status).toBe(403);

    // Tokens over the API are an admin's: a registration token made there registers.
    expect((await call('/api/tokens', tokens.viewer, undefined, 'GET')).status).toBe(403);
    expect((await call('/api/tokens', tokenA, { role: 'bot', name: 'more' })).status).toBe(403);
    const made = await call('/api/tokens', tokens.admin, { role: 'bot', name: 'lab fleet' });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ role: 'bot', botId: null, name: 'lab fleet' });
    expect((await register('c', made.body.token)).status).toBe(200);
    expect((await call('/api/tokens', tokens.admin, undefined, 'GET')).body.tokens).toContainEqual(expect.objectContaining({ name: 'bot c', botId: 'c', revokedAt: null }));
    expect((await call(`/api/tokens/${made.body.tokenId}/revoke`, tokens.admin)).body).toEqual({ tokenId: made.body.tokenId, revoked: true });
    expect((await register('d', made.body.token)).status).toBe(401);

    // Registering again (a restarted bot process) revokes the bot's earlier token.
    const again = await register('a');
    expect(again.status).toBe(200);
    await until('the old token refused', async () => (await call('/api/fleet/bots/a/heartbeat', tokenA, {})).status === 401);
    expect((await call('/api/fleet/bots/a/heartbeat', again.body.token, {})).status).toBe(200);
  });

  it('hands a polling bot its tests, at most three; accepts each result once and refuses a stale or malformed one', async () => {
    const { token } = (await register('a')).body as { token: string };
    // Over a real socket: the poll is waiting when the tests arrive, and is woken, not answered at its deadline (two minutes, past this test's limit).
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const polled = fetch(`${url}/api/fleet/bots/a/claim`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ free: 5, waitMs: 120_000 }) });
    await until('the poll waiting', async () => (await registry.list({ kind: ['bot.a'] })).length === 0 && (await getBot(db, 'a'))?.state === 'online');
    await addTests(5);
    const res = await polled;
    const claim = { status: res.status, body: (await res.json()) as Record<string, any> };
    expect(claim.status).toBe(200);
    expect(claim.body.directive).toBe('run');
    const tasks = claim.body.tasks as { taskId: string; attempt: number; kind: string; payload: Record<string, unknown> }[];
    expect(tasks.length).toBeGreaterThan(0);
    expect(tasks.length).toBeLessThanOrEqual(3);
    expect(tasks.every((t) => t.kind === 'bot.a' && t.attempt === 1)).toBe(true);

    const [first, second] = tasks as [(typeof tasks)[0], (typeof tasks)[0] | undefined];
    const route = (t: { taskId: string }, what = 'complete') => `/api/fleet/bots/a/tasks/${t.taskId}/${what}`;
    const bad = await call(route(first), token, { attempt: 1, result: { success: 'yes' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('body.result.success');
    expect((await call(route(first), token, { attempt: 1, result: evaluation, durationMs: 4 })).body).toEqual({ taskId: first.taskId, accepted: true, status: 'COMPLETED' });
    const twice = await call(route(first), token, { attempt: 1, result: evaluation });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('ORC_REGISTRY_LEASE_LOST');
    expect((await registry.get(first.taskId)).result).toEqual(evaluation);
    // The bot agent hears of it as of any bot's test.
    await until('the outcome counted', async () => (await getBot(db, 'a'))?.completed === 1);
    if (second) {
      const failed = await call(route(second, 'fail'), token, { attempt: 1, error: { message: 'the device ran out of battery' } });
      expect(failed.body).toMatchObject({ accepted: true, status: 'PENDING' });
    }
  });

  it('tells a restarted bot to restart and an isolated one to stop; its stale report is kept as late', async () => {
    const { token } = (await register('a')).body as { token: string };
    await addTests(2);
    const { tasks } = (await call('/api/fleet/bots/a/claim', token, { free: 3, waitMs: 120_000 })).body as { tasks: { taskId: string; attempt: number }[] };
    const held = tasks[0]!;

    expect((await call('/api/bots/a/restart', tokens.admin, { reason: 'hung' })).status).toBe(202);
    await until('the bot restarting', async () => (await getBot(db, 'a'))?.state === 'restarting');
    const beat = await call('/api/fleet/bots/a/heartbeat', token, { running: tasks.map((t) => ({ taskId: t.taskId, attempt: t.attempt })) });
    expect(beat.body).toMatchObject({ directive: 'restart', state: 'online' });
    expect(beat.body.lost.sort()).toEqual(tasks.map((t) => t.taskId).sort());
    const late = await call(`/api/fleet/bots/a/tasks/${held.taskId}/complete`, token, { attempt: held.attempt, result: evaluation });
    expect(late.status).toBe(409);
    const read = await call(`/api/tasks/${held.taskId}`, tokens.admin, undefined, 'GET');
    expect(read.body.task.result).toBeNull();
    expect(read.body.lateReports).toHaveLength(1);

    expect((await call('/api/bots/a/isolate', tokens.admin, { reason: 'flaky' })).status).toBe(202);
    await until('the bot isolated', async () => (await getBot(db, 'a'))?.state === 'isolated');
    expect((await call('/api/fleet/bots/a/heartbeat', token, {})).body).toMatchObject({ directive: 'stop', state: 'isolated' });
    expect((await call('/api/fleet/bots/a/claim', token, { free: 3, waitMs: 120_000 })).body).toEqual({ directive: 'stop', tasks: [] });
    expect((await call('/api/bots/a/reinstate', tokens.admin, {})).body.reinstated).toBe(true);
    expect((await call('/api/fleet/bots/a/heartbeat', token, {})).body.directive).toBe('run');

    expect((await call('/api/fleet/bots/a/deregister', token)).body).toEqual({ botId: 'a', state: 'offline' });
    expect((await call('/api/fleet/bots/a/claim', token, { free: 3 })).body).toEqual({ directive: 'register', tasks: [] });
  });

  it('restarts a remote bot gone silent, marks it lost when it does not come back, and has it restart when it calls in again', async () => {
    // A bot agent with short timeouts in place of the one the test file starts.
    await agent.stop();
    agent = new BotAgent({ bus, clock, db, registry, fleet: { checkIntervalMs: 50, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400 } });
    await agent.start();
    const { token } = (await register('gone')).body as { token: string };
    await addTests(2);
    const { tasks } = (await call('/api/fleet/bots/gone/claim', token, { free: 3, waitMs: 120_000 })).body as { tasks: { taskId: string }[] };
    expect(tasks).toHaveLength(2);
    // It never calls in again.
    await until('the silent bot restarted', async () => (await getBot(db, 'gone'))?.state === 'restarting');
    await until('the bot lost', async () => (await getBot(db, 'gone'))?.state === 'lost');
    expect((await getBot(db, 'gone'))!.reason).toMatch(/^no heartbeat for \d+ ms after its restart$/);
    for (const t of tasks) expect((await registry.get(t.taskId)).status).toBe('PENDING');
    expect((await call('/api/bots/gone', tokens.viewer, undefined, 'GET')).body.bot).toMatchObject({ state: 'lost' });
    // Back: told to restart (what it held is gone), and online again.
    expect((await call('/api/fleet/bots/gone/heartbeat', token, {})).body).toMatchObject({ directive: 'restart', state: 'online' });
  });

  it('refuses a bus bot’s id, and bad bodies with the field named', async () => {
    await registerBot(db, { botId: 'local', deviceId: 'd', role: 'tester', group: 'g' }, clock.now());
    expect((await register('local')).status).toBe(409);
    const bad = await call('/api/fleet/register', tokens.registration, { botId: 'has space' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('body.botId');
    const { token } = (await register('a')).body as { token: string };
    expect((await call('/api/fleet/bots/a/claim', token, { free: -1 })).body.message).toContain('body.free');
    expect((await call('/api/fleet/bots/a/tasks/x/complete', token, { attempt: 1, result: {} })).status).toBe(404);
  });
});
