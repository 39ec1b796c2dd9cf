import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import {
  BOT_AGENT_ID,
  botIsolatedEvent,
  botKind,
  botStatusUpdateEvent,
  createMessage,
  createLogger,
  createRng,
  createTestTaskRequest,
  getAvailableBotCountRequest,
  getBotStatusRequest,
  isolateBotCommand,
  ManualClock,
  reinstateBotCommand,
  restartBotCommand,
  taskCompletedEvent,
  tasksFinishedEvent,
  TEST_BACKLOG_KIND,
  ValidationError,
  type Task,
  type TaskContext,
} from '../../src/protocol/index.js';
import { getBot, recordOutcome, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createMemoryBus, type MemoryBus } from '../../src/bus/index.js';
import {
  BaseAgent,
  Bot,
  BotAgent,
  botScore,
  nextSuccessRate,
  selectBot,
  type BotBehaviour,
  type FleetOptions,
} from '../../src/agents/index.js';
import { embeddedStore, EventRecorder, until } from './helpers.js';

const START_MS = Date.UTC(2026, 0, 1);
const FLEET: FleetOptions = { heartbeatTimeoutMs: 60_000, heartbeatIntervalMs: 10_000, maxTasksPerBot: 3, checkIntervalMs: 1_000 };

describe('fleet rules', () => {
  it('weighs the old success rate 0.9 and the new outcome 0.1', () => {
    expect(nextSuccessRate(1, false, 0.9)).toBeCloseTo(0.9);
    expect(nextSuccessRate(0.9, false, 0.9)).toBeCloseTo(0.81);
    expect(nextSuccessRate(0.5, true, 0.9)).toBeCloseTo(0.55);
    let rate = 1;
    for (let i = 0; i < 10; i++) rate = nextSuccessRate(rate, false, 0.9);
    expect(rate).toBeCloseTo(0.9 ** 10);
  });

  it('scores 0.5 × (1 − load) + 0.5 × success rate and picks the highest bot with a free slot', () => {
    expect(botScore({ botId: 'a', tasks: 0, successRate: 1 }, 3)).toBe(1);
    expect(botScore({ botId: 'a', tasks: 3, successRate: 0.5 }, 3)).toBe(0.25);
    expect(botScore({ botId: 'a', tasks: 1, successRate: 0.8 }, 3)).toBeCloseTo(0.5 * (2 / 3) + 0.4);
    const bots = [
      { botId: 'idle-but-flaky', tasks: 0, successRate: 0.2 }, // 0.5 + 0.1 = 0.6
      { botId: 'busy-and-good', tasks: 2, successRate: 1 }, //     0.1667 + 0.5 = 0.667
      { botId: 'full', tasks: 3, successRate: 1 }, //              no free slot
      { botId: 'middle', tasks: 1, successRate: 0.6 }, //           0.333 + 0.3 = 0.633
    ];
    expect(selectBot(bots, 3)?.botId).toBe('busy-and-good');
    expect(selectBot([{ botId: 'b', tasks: 0, successRate: 1 }, { botId: 'a', tasks: 0, successRate: 1 }], 3)?.botId).toBe('a');
    expect(selectBot([{ botId: 'full', tasks: 3, successRate: 1 }], 3)).toBeUndefined();
  });
});

describe('the bot agent and its bots, on PGlite with the memory bus', () => {
  let db: Db;
  let clock: ManualClock;
  let bus: MemoryBus;
  let registry: TaskRegistry;
  let botAgent: BotAgent;
  let watcher: EventRecorder;
  const agents: BaseAgent[] = [];

  const store = embeddedStore();

  beforeEach(async () => {
    clock = new ManualClock(START_MS);
    db = await store.reset(clock.now());
    bus = createMemoryBus({ clock });
    registry = new TaskRegistry({ db, clock, rng: createRng(1), bus, config: { leaseMs: 30_000, backoffBaseMs: 100, backoffMaxMs: 100, maxAttempts: 10 } });
    watcher = new EventRecorder({ bus, clock }, [botStatusUpdateEvent, taskCompletedEvent, botIsolatedEvent], 'watcher');
    botAgent = new BotAgent({ bus, clock, db, registry, fleet: FLEET, ...(process.env.DEBUG_FLEET ? { logger: createLogger({ level: 'debug' }) } : {}) });
    agents.push(watcher, botAgent);
    await watcher.start();
    await botAgent.start();
  });

  afterEach(async () => {
    // Handlers the test left hanging hold their agents' stop for its grace period, which passes on the clock.
    const stopping = Promise.all(agents.splice(0).reverse().map((a) => a.stop()));
    for (let i = 0; i < 10; i++) await clock.advance(60_000);
    await stopping;
    await bus.close();
  });

  /** A handler the test finishes by hand; it answers as an evaluator does. */
  function gated() {
    const runs: { task: Task; botWorker: string; finish(): void }[] = [];
    const handler = (task: Task, context: TaskContext) =>
      new Promise<{ success: boolean; value: number }>((resolve, reject) => {
        runs.push({ task, botWorker: context.workerId, finish: () => resolve({ success: true, value: 1 }) });
        context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true });
      });
    return { runs, handler };
  }

  async function startBot(botId: string, handler: (task: Task, c: TaskContext) => Promise<unknown>, behaviour?: BotBehaviour, seed = 1): Promise<Bot> {
    const bot = new Bot({ bus, clock, registry, botId, handler: handler as never, fleet: FLEET, ...(behaviour ? { behaviour, rng: createRng(seed) } : {}) });
    agents.push(bot);
    await bot.start();
    return bot;
  }

  const tests = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({
      taskId: `t-${from + i}`,
      workload: 'synthetic',
      studyId: 's',
      key: `k${from + i}`,
      variables: { x: from + i },
      trial: from + i,
      generation: 0,
    }));

  const held = async (botId: string) => (await registry.list({ status: ['PENDING', 'RUNNING'], kind: [botKind(botId)] })).length;

  it('registers bots, hands tests out at most three per bot by the formula, and reports completions', async () => {
    const gate = gated();
    await startBot('b1', gate.handler);
    await startBot('b2', gate.handler);
    expect(await watcher.sendRequest(getAvailableBotCountRequest, {})).toEqual({ available: 2, online: 2, total: 2, isolated: 0 });
    const created = await watcher.sendRequest(createTestTaskRequest, { tests: tests(10) });
    expect(created.tasks).toHaveLength(10);
    await until('six tests running', () => gate.runs.length === 6);
    expect(await held('b1')).toBe(3);
    expect(await held('b2')).toBe(3);
    // A repeated request (a retry, a redelivery) names tests now of a bot's kind: it creates nothing and is no conflict.
    const repeated = await watcher.sendRequest(createTestTaskRequest, { tests: tests(10) });
    expect(repeated.tasks.map((t) => t.created)).toEqual(Array(10).fill(false));
    expect((await registry.list({ status: ['PENDING'], kind: [TEST_BACKLOG_KIND] })).length).toBe(4);
    expect(await watcher.sendRequest(getAvailableBotCountRequest, {})).toMatchObject({ available: 0, online: 2 });

    for (let done = 0; done < 10; done++) {
      await until(`test ${done + 1} running`, () => gate.runs.length > done);
      gate.runs[done]!.finish();
    }
    await until('all ten completed', async () => (await registry.counts()).byStatus.COMPLETED === 10);
    await until('ten task_completed events', () => watcher.of(taskCompletedEvent).length === 10);
    const status = await watcher.sendRequest(getBotStatusRequest, {});
    expect(status.bots.map((b) => b.completed).reduce((a, b) => a + b)).toBe(10);
    for (const b of status.bots) expect(b).toMatchObject({ successRate: 1, tasks: 0 });
  });

  it('with waitingPerBot, hands a bot its next test while it runs one; the bot claims it ahead and starts it as the first ends, with no round between', async () => {
    await botAgent.stop();
    const oneAtATime: FleetOptions = { ...FLEET, maxTasksPerBot: 1, waitingPerBot: 1 };
    const agent = new BotAgent({ bus, clock, db, registry, fleet: oneAtATime });
    agents.push(agent);
    await agent.start();
    const gate = gated();
    const bot = new Bot({ bus, clock, registry, botId: 'b1', handler: gate.handler as never, fleet: oneAtATime });
    agents.push(bot);
    await bot.start();
    await until('the bot registered', async () => (await getBot(db, 'b1')) !== null);
    await watcher.sendRequest(createTestTaskRequest, { tests: tests(4) });
    await until('the bot holds two tests', async () => (await held('b1')) === 2);
    await until('one running', () => gate.runs.length === 1);
    // Claimed ahead, it waits in the bot for the slot, not in the store for a statement.
    await until('the next claimed ahead', async () => (await registry.list({ status: ['RUNNING'], kind: [botKind('b1')] })).length === 2);
    expect(gate.runs.map((r) => r.task.taskId)).toEqual(['t-0']);
    expect(await watcher.sendRequest(getAvailableBotCountRequest, {})).toMatchObject({ available: 0, online: 1 });
    // No more rounds from here: the waiting test, claimed already, starts as the first ends.
    await agent.stop();
    gate.runs[0]!.finish();
    await until('the waiting test running', () => gate.runs.length === 2);
    expect(gate.runs[1]!.task.taskId).toBe('t-1');
    expect(await held('b1')).toBe(1);
  });

  it('runs no round for a finished test once every waiting test is handed out; new tests are handed out at once', async () => {
    const gate = gated();
    await startBot('b1', gate.handler);
    await watcher.sendRequest(createTestTaskRequest, { tests: tests(2) });
    await until('both tests running', () => gate.runs.length === 2);
    const backlogReads = vi.spyOn(registry, 'runnable');
    gate.runs[0]!.finish();
    await until('the first reported', () => watcher.of(taskCompletedEvent).length === 1);
    // The answer to a request comes after the finish's handling, whose round (had there been one) read the backlog first.
    await watcher.sendRequest(createTestTaskRequest, { tests: tests(1, 2) });
    await until('the new test running', () => gate.runs.length === 3);
    expect(backlogReads).toHaveBeenCalledTimes(1);
  });

  it('hands a test meant for a group or role only to bots of it, and does not hold the others back', async () => {
    const gate = gated();
    for (const [botId, group, role] of [['any', 'default', 'tester'], ['lab-1', 'lab', 'tester'], ['lab-2', 'lab', 'camera']] as const) {
      const bot = new Bot({ bus, clock, registry, botId, group, role, handler: gate.handler as never, fleet: FLEET });
      agents.push(bot);
      await bot.start();
    }
    const forLab = tests(5).map((t) => ({ ...t, group: 'lab', role: 'tester' }));
    await watcher.sendRequest(createTestTaskRequest, { tests: [...forLab, ...tests(1, 100)] });
    // Three for the lab's tester (its slots), the ungrouped one to a bot with room; two lab tests wait for lab-1.
    await until('four tests running', () => gate.runs.length === 4);
    expect(await held('lab-1')).toBe(3);
    expect(await held('lab-2')).toBe(0);
    const elsewhere = gate.runs.filter((r) => r.task.kind !== botKind('lab-1'));
    expect(elsewhere.map((r) => r.task.taskId)).toEqual(['t-100']);
    expect((await registry.list({ status: ['PENDING'], kind: [TEST_BACKLOG_KIND] })).map((t) => t.taskId).sort()).toEqual(['t-3', 't-4']);
    gate.runs.find((r) => r.task.kind === botKind('lab-1'))!.finish();
    await until('a waiting lab test handed to lab-1', async () => (await registry.list({ status: ['PENDING'], kind: [TEST_BACKLOG_KIND] })).length === 1);
  });

  it('restarts a bot silent for 60 s and gives its tests to the others', async () => {
    const gate = gated();
    const frozen = await startBot('frozen', gate.handler, { silenceRate: 1, silenceMs: 10 * 60_000 });
    await watcher.sendRequest(createTestTaskRequest, { tests: tests(2) });
    await until('the frozen bot holds both', async () => (await held('frozen')) === 2);
    await clock.advance(10_000); // its first heartbeat time: it freezes instead
    expect(frozen.frozen).toBe(true);
    const helper = await startBot('helper', gate.handler);
    await clock.advance(50_000); // 60 s since its last heartbeat (registration)
    await botAgent.tick();
    const restarted = await getBot(db, 'frozen');
    expect(restarted).toMatchObject({ state: 'restarting', restarts: 1 });
    expect(restarted!.reason).toMatch(/silent for 60000 ms/);
    await until('the helper runs both tests', () => gate.runs.filter((r) => r.botWorker.startsWith(helper.id)).length === 2);
    expect(await held('frozen')).toBe(0);
    await until('a restarting status update', () => watcher.of(botStatusUpdateEvent).some((m) => m.data.state === 'restarting'));
  });

  it('isolates a bot that keeps failing; its unfinished tests are claimed by others and all finish', async () => {
    const failing = await startBot('failing', async () => ({ success: true, value: 1 }), { failureRate: 1 });
    await watcher.sendRequest(createTestTaskRequest, { tests: tests(6) });
    // Each failed attempt waits out its retry backoff (100 ms) before the bot agent hands it out again.
    await until('the failing bot isolated', async () => {
      await clock.advance(100);
      await botAgent.tick();
      return (await getBot(db, 'failing'))?.state === 'isolated';
    });
    expect((await getBot(db, 'failing'))!.reason).toMatch(/5 failed tasks in a row/);
    // Five failures in a row isolate it; an attempt already running may add one more.
    expect((await getBot(db, 'failing'))!.successRate).toBeLessThanOrEqual(0.9 ** 5 + 1e-9);
    await until('the bot_isolated alert', () => watcher.of(botIsolatedEvent).length === 1);
    expect(await held('failing')).toBe(0);
    await startBot('steady', async () => ({ success: true, value: 2 }));
    // Retried attempts wait out their backoff before another bot can take them.
    for (let i = 0; i < 20 && (await registry.counts()).byStatus.COMPLETED < 6; i++) {
      await clock.advance(1_000);
      await botAgent.tick();
    }
    await until('all six completed by the steady bot', async () => (await registry.counts()).byStatus.COMPLETED === 6);
    const done = await registry.list({ status: ['COMPLETED'] });
    for (const t of done) expect(t.workerId).toMatch(/^bot\.steady:/);
    expect(failing.worker.stats.claimed).toBeGreaterThan(0);
  });

  it('counts failures in a row in the store: a bot agent restarted mid-streak isolates the bot at the fifth, not the ninth', async () => {
    await startBot('streaky', async () => ({ success: true, value: 1 }));
    const finished = (n: number) => watcher.sendEvent(tasksFinishedEvent, { tasks: [{ taskId: `f-${n}`, kind: botKind('streaky'), status: 'FAILED', attempt: 1, durationMs: 1 }] });
    for (let n = 0; n < 3; n++) await finished(n);
    await until('three failures counted', async () => (await getBot(db, 'streaky'))?.failuresInARow === 3);
    await botAgent.stop();
    const restarted = new BotAgent({ bus, clock, db, registry, fleet: FLEET });
    agents.push(restarted);
    await restarted.start();
    for (let n = 3; n < 5; n++) await finished(n);
    await until('the bot isolated', async () => (await getBot(db, 'streaky'))?.state === 'isolated');
    expect((await getBot(db, 'streaky'))!.reason).toBe('5 failed tasks in a row');
  });

  it('isolates a bot restarted three times within the window, and obeys restart and isolate commands', async () => {
    const gate = gated();
    await startBot('b1', gate.handler);
    await startBot('b2', gate.handler);
    await watcher.sendCommand(restartBotCommand, { botId: 'b1', reason: 'operator' });
    // b1 restarts its worker and says so with a heartbeat, which brings it back online.
    await until('b1 restarted and back', async () => {
      const b1 = await getBot(db, 'b1');
      return b1?.restarts === 1 && b1.state === 'online';
    });
    await until('a restarting update', () => watcher.of(botStatusUpdateEvent).some((m) => m.data.state === 'restarting'));
    await botAgent.restart('b1', 'again');
    await botAgent.restart('b1', 'and again');
    expect(await getBot(db, 'b1')).toMatchObject({ state: 'isolated' });
    expect((await getBot(db, 'b1'))!.reason).toMatch(/restarted 3 times/);
    await watcher.sendCommand(isolateBotCommand, { botId: 'b2', reason: 'maintenance' });
    await until('b2 isolated', async () => (await getBot(db, 'b2'))?.state === 'isolated');
    expect(await watcher.sendRequest(getAvailableBotCountRequest, {})).toMatchObject({ available: 0, isolated: 2 });
  });

  it('reinstates an isolated bot on request: back at work, at the fleet\'s mean success rate, with who asked and why recorded', async () => {
    const gate = gated();
    await startBot('b1', gate.handler);
    await startBot('b2', gate.handler);
    await startBot('b3', gate.handler);
    await recordOutcome(db, 'b1', false, 0.9); // 0.9
    await recordOutcome(db, 'b2', true, 0.9); // 1
    await watcher.sendCommand(restartBotCommand, { botId: 'b3', reason: 'flaky' });
    await until('b3 restarted and back', async () => (await getBot(db, 'b3'))?.restarts === 1 && (await getBot(db, 'b3'))?.state === 'online');
    await watcher.sendCommand(isolateBotCommand, { botId: 'b3', reason: 'maintenance' });
    await until('b3 isolated', async () => (await getBot(db, 'b3'))?.state === 'isolated');

    await clock.advance(5_000);
    await watcher.sendCommand(reinstateBotCommand, { botId: 'b3', reason: 'device replaced', by: 'alice' });
    await until('b3 back in the fleet', async () => (await getBot(db, 'b3'))?.state === 'online');
    const b3 = (await getBot(db, 'b3'))!;
    expect(b3.successRate).toBeCloseTo(0.95, 10);
    expect(b3).toMatchObject({ reinstatedBy: 'alice', reinstateReason: 'device replaced', reinstatedAt: clock.now(), reinstatements: 1, recentRestarts: [], isolatedAt: null });
    expect(b3.reason).toBe('reinstated by alice: device replaced');
    await until('an online status update for b3', () => watcher.of(botStatusUpdateEvent).some((m) => m.data.botId === 'b3' && m.data.reinstatements === 1));

    // It takes tests again: with the others full, the seventh to ninth go to b3.
    await watcher.sendRequest(createTestTaskRequest, { tests: tests(9) });
    await until('b3 runs three tests', () => gate.runs.filter((r) => r.botWorker.startsWith('bot.b3:')).length === 3);
    expect(await held('b3')).toBe(3);

    // Who asked defaults to the sender; a bot that is not isolated is left as it is.
    await watcher.sendCommand(reinstateBotCommand, { botId: 'b1' });
    await watcher.sendCommand(isolateBotCommand, { botId: 'b2' });
    await until('b2 isolated', async () => (await getBot(db, 'b2'))?.state === 'isolated');
    await watcher.sendCommand(reinstateBotCommand, { botId: 'b2' });
    await until('b2 back', async () => (await getBot(db, 'b2'))?.state === 'online');
    expect(await getBot(db, 'b2')).toMatchObject({ reinstatedBy: 'watcher', reinstateReason: 'reinstatement requested' });
    expect(await getBot(db, 'b1')).toMatchObject({ successRate: 0.9, reinstatements: 0, reinstatedBy: null });
  });

  it('refuses a test task with bad data, naming the field, and registers none of the batch', async () => {
    const bad = tests(2);
    (bad[1] as Record<string, unknown>).trial = -1;
    // The sender's contract refuses it before it leaves…
    const local = await watcher.sendRequest(createTestTaskRequest, { tests: bad }).catch((e: unknown) => e);
    expect(local).toBeInstanceOf(ValidationError);
    expect(local).toMatchObject({ code: 'ORC_PROTOCOL_OUT_OF_RANGE' });
    expect((local as Error).message).toContain('tests.1.trial');
    // …and the bot agent refuses it from a sender that skipped the check.
    const request = createMessage({ type: 'request', from: 'watcher', to: BOT_AGENT_ID, action: createTestTaskRequest.name, data: { tests: bad } }, clock.now());
    const err = await bus.request(request).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ remoteCode: 'ORC_PROTOCOL_OUT_OF_RANGE' });
    expect((err as Error).message).toContain('data.tests.1.trial');
    expect((await registry.counts()).total).toBe(0);
  });
});
