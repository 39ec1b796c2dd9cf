import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { createRng, systemClock } from '../../src/protocol/index.js';
import { type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createMemoryBus, type MemoryBus } from '../../src/bus/index.js';
import { AnalysisAgent, Bot, BotAgent, CampaignAgent, OrchestratorAgent, VariableAgent, type BaseAgent } from '../../src/agents/index.js';
import { parseSpace } from '../../src/evolution/index.js';
import { syntheticEvaluator, testHandler } from '../../src/workloads/index.js';
import { createApiServer, createToken, type ApiServer } from '../../src/api/index.js';
import { embeddedStore, until } from '../agents/helpers.js';

const space = parseSpace({
  name: 'synthetic',
  objective: { metric: 'value', direction: 'minimize' },
  variables: { x: { type: 'float', min: -5, max: 5 }, mode: { type: 'categorical', choices: ['a', 'b', 'c'] } },
});

/**
 * The API's operator actions against running experiment agents on the
 * embedded default (PGlite, the memory bus), on the real clock with short
 * intervals: each action reaches the agent that carries it out, and what it
 * changed is read back through the API.
 */
describe('operator actions over the HTTP API, against running agents', () => {
  const store = embeddedStore();
  let db: Db;
  let bus: MemoryBus;
  let app: ApiServer;
  const agents: BaseAgent[] = [];
  const tokens = { admin: '', viewer: '' };
  const clock = systemClock;

  beforeEach(async () => {
    db = await store.reset(clock.now());
    bus = createMemoryBus({ clock });
    for (const role of ['admin', 'viewer'] as const) tokens[role] = (await createToken(db, { name: `${role} of the test`, role }, clock.now())).token;
  });
  afterEach(async () => {
    await app?.close();
    for (const a of agents.splice(0).reverse()) await a.stop();
    await bus.close();
  });

  async function serve(agentTimeoutMs = 5_000): Promise<void> {
    const registry = new TaskRegistry({ db, clock, rng: createRng(1), bus, config: { backoffBaseMs: 10, backoffMaxMs: 10 } });
    app = await createApiServer({ db, registry, clock, bus }, { rateLimitPerMinute: 100_000, agentTimeoutMs });
  }

  async function runSystem(): Promise<void> {
    const registry = new TaskRegistry({ db, clock, rng: createRng(2), bus, config: { backoffBaseMs: 10, backoffMaxMs: 10 } });
    const deps = { bus, clock };
    const fleet = { checkIntervalMs: 50, heartbeatIntervalMs: 1_000 };
    const evaluators = { synthetic: syntheticEvaluator(space, { seed: 5 }) };
    const parts: BaseAgent[] = [
      new OrchestratorAgent({ ...deps, db, registry }),
      new BotAgent({ ...deps, db, registry, fleet }),
      new AnalysisAgent({ ...deps, db }),
      ...['b1', 'b2', 'b3'].map((botId) => new Bot({ ...deps, registry, botId, handler: testHandler(evaluators), fleet })),
      // The next generation waits for the new year: the study stays running between them, for trigger and stop.
      new VariableAgent({ ...deps, db, registry, studyId: 'study', workload: 'synthetic', space, experiment: { pollMs: 50, population: 6, testsPerCombination: 1, seed: 1, cadence: '0 0 1 1 *' } }),
      new CampaignAgent({ ...deps, db, registry, workload: 'synthetic', pollMs: 50 }),
    ];
    for (const a of parts) {
      agents.push(a);
      await a.start();
    }
  }

  const call = async (method: 'GET' | 'POST', url: string, body?: unknown, token = tokens.admin) => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body as Record<string, unknown> }) });
    return { status: res.statusCode, body: res.json() as Record<string, any> };
  };

  it('reads the study and the fleet; isolates, reinstates and restarts a bot; triggers and stops the study; starts and stops a campaign', async () => {
    await runSystem();
    await serve();
    await until('the first generation scored', async () => (await call('GET', '/api/studies/study/generations')).body.generations?.some((g: { state: string }) => g.state === 'scored'));
    const { combinations } = (await call('GET', '/api/studies/study/combinations')).body as { combinations: { key: string; tests: number; successes: number; successRate: number | null }[] };
    expect(combinations.length).toBeGreaterThan(0);
    for (const c of combinations) expect(c.successRate).toBe(c.tests ? c.successes / c.tests : null);
    // Every evaluation of the study's generations counted once (a result or two may land between the two reads).
    const [again, all] = await Promise.all([call('GET', '/api/studies/study/combinations'), call('GET', '/api/studies/study/evaluations?limit=20000')]);
    const tested = (again.body.combinations as { tests: number }[]).reduce((n, c) => n + c.tests, 0);
    expect(Math.abs(tested - (all.body.evaluations as { generation: number }[]).filter((e) => e.generation >= 0).length)).toBeLessThanOrEqual(3);
    // Generation 0's combinations, each tested once in it (testsPerCombination: 1).
    const first = (await call('GET', '/api/studies/study/combinations?generation=0')).body as { generation: number; combinations: { key: string; tests: number }[] };
    expect(first.generation).toBe(0);
    expect(first.combinations.length).toBeGreaterThan(0);
    expect(first.combinations.every((c) => c.tests >= 1)).toBe(true);
    const absent = await call('GET', '/api/studies/study/combinations?generation=9999');
    expect(absent).toMatchObject({ status: 404, body: { code: 'ORC_AGENT_NOT_FOUND', message: expect.stringContaining('no generation 9999') } });
    expect((await call('GET', '/api/studies/study/reports')).body.reports[0]).toMatchObject({ generation: 0 });
    const { evaluations } = (await call('GET', '/api/studies/study/evaluations?limit=3')).body as { evaluations: { at: number; success: boolean; botId: string }[] };
    expect(evaluations).toHaveLength(3);
    expect(evaluations.map((e) => e.at)).toEqual([...evaluations.map((e) => e.at)].sort((a, b) => a - b));
    expect(evaluations[0]).toMatchObject({ success: expect.any(Boolean), botId: expect.stringMatching(/^b[123]$/) });
    const fleet = (await call('GET', '/api/bots')).body as { bots: { botId: string; tasks: number; running: number }[]; maxTasksPerBot: number };
    expect(fleet.bots.map((b) => b.botId).sort()).toEqual(['b1', 'b2', 'b3']);
    // Each bot's tasks in hand, against the most it may hold.
    expect(fleet.maxTasksPerBot).toBeGreaterThanOrEqual(1);
    for (const b of fleet.bots) expect(b.running >= 0 && b.running <= b.tasks).toBe(true);
    expect((await call('GET', '/api/bots/nope')).status).toBe(404);
    // The agents as the orchestrator heard them announce themselves.
    const listed = (await call('GET', '/api/agents', undefined, tokens.viewer)).body.agents as { agentId: string; state: string }[];
    expect(listed.map((a) => a.agentId)).toEqual(expect.arrayContaining(['orchestrator', 'bots', 'analysis', 'variables', 'campaigns']));
    expect(listed.every((a) => a.state === 'running')).toBe(true);

    // A viewer may read but not act.
    expect((await call('POST', '/api/bots/b1/isolate', {}, tokens.viewer)).status).toBe(403);
    expect(await call('POST', '/api/bots/b1/isolate', { reason: 'drained for maintenance' })).toEqual({ status: 202, body: { action: 'isolate_bot', botId: 'b1', sent: true } });
    await until('b1 isolated', async () => (await call('GET', '/api/bots/b1')).body.bot.state === 'isolated');
    expect((await call('GET', '/api/bots/b1')).body.bot.reason).toContain('drained for maintenance');
    const reinstated = await call('POST', '/api/bots/b1/reinstate', { reason: 'back' });
    expect(reinstated).toMatchObject({ status: 200, body: { reinstated: true, bot: { botId: 'b1' } } });
    expect((await call('POST', '/api/bots/b1/reinstate')).body).toMatchObject({ reinstated: false });

    // A drained bot is handed nothing new and finishes what it holds, until resumed.
    expect((await call('POST', '/api/bots/b3/drain', {}, tokens.viewer)).status).toBe(403);
    expect(await call('POST', '/api/bots/b3/drain', { reason: 'maintenance' })).toMatchObject({ status: 200, body: { drained: true, bot: { botId: 'b3', state: 'draining', reason: 'maintenance' } } });
    expect((await call('POST', '/api/bots/b3/drain')).body).toMatchObject({ drained: false, bot: { state: 'draining' } });
    await until('b3 to hold nothing', async () => ((await call('GET', '/api/bots')).body.bots as { botId: string; tasks: number }[]).find((b) => b.botId === 'b3')!.tasks === 0);
    expect((await call('GET', '/api/bots/b3')).body.bot.state).toBe('draining');
    expect(await call('POST', '/api/bots/b3/resume')).toMatchObject({ status: 200, body: { resumed: true, bot: { state: 'online' } } });
    expect((await call('POST', '/api/bots/b3/resume')).body).toMatchObject({ resumed: false });

    const restarts = (await call('GET', '/api/bots/b2')).body.bot.restarts as number;
    expect((await call('POST', '/api/bots/b2/restart')).status).toBe(202);
    await until('b2 restarted', async () => (await call('GET', '/api/bots/b2')).body.bot.restarts > restarts);

    // The study waits for the new year for its next generation: trigger starts it now.
    const triggered = await call('POST', '/api/studies/study/trigger');
    expect(triggered).toMatchObject({ status: 200, body: { action: 'trigger_test', studyId: 'study' } });
    expect((await call('POST', '/api/studies/nope/trigger')).status).toBe(404);
    await until('generation 1', async () => (await call('GET', '/api/studies/study/generations')).body.generations.length >= 2);

    const started = await call('POST', '/api/campaigns', { runs: 1000, perMinute: 1 });
    expect(started.status).toBe(201);
    const { campaignId } = started.body.campaign as { campaignId: string };
    expect((await call('GET', '/api/campaigns')).body.campaigns.map((c: { campaignId: string }) => c.campaignId)).toEqual([campaignId]);
    expect(await call('POST', `/api/campaigns/${campaignId}/stop`)).toEqual({ status: 202, body: { action: 'stop_campaign', campaignId, sent: true } });
    await until('the campaign stopped', async () => (await call('GET', `/api/campaigns/${campaignId}`)).body.campaign.state === 'stopped');
    expect((await call('POST', '/api/campaigns', { runs: 0 })).status).toBe(400);

    expect(await call('POST', '/api/studies/study/stop', { reason: 'enough' })).toEqual({ status: 200, body: { action: 'stop_test', via: 'bus', studyId: 'study' } });
    await until('the study stopped', async () => (await call('GET', '/api/studies')).body.studies[0].state === 'stopped');
  });

  it('answers 503 naming the agent when the agent that would act is not running, and sends nothing', async () => {
    await serve(200);
    const isolate = await call('POST', '/api/bots/b1/isolate');
    // No bot is known yet: the store answers first.
    expect(isolate.status).toBe(404);
    const campaign = await call('POST', '/api/campaigns', { runs: 3 });
    expect(campaign).toMatchObject({ status: 503, body: { code: 'ORC_API_UNAVAILABLE', message: expect.stringContaining('no campaigns agent answered within 200 ms: start_campaign was not sent') } });
    expect(await call('GET', '/api/agents')).toMatchObject({ status: 503, body: { code: 'ORC_API_UNAVAILABLE', message: expect.stringContaining('no orchestrator answered within 200 ms') } });
  });
});
