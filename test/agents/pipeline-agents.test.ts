import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import {
  botIsolatedEvent,
  createMessage,
  createRng,
  dispatchRequest,
  environmentChangeDetectedEvent,
  getSnapshotRequest,
  getSystemStatusRequest,
  listAgentsRequest,
  ManualClock,
  PRESENCE_TOPIC,
  agentStatusEvent,
  systemSnapshotEvent,
  tasksFinishedEvent,
  type Message,
  type Task,
  type TaskContext,
} from '../../src/protocol/index.js';
import { type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createMemoryBus, type MemoryBus } from '../../src/bus/index.js';
import {
  BaseAgent,
  OrchestratorAgent,
  SystemMonitor,
  TaskDispatcher,
  WorkerAgent,
  type AgentDeps,
} from '../../src/agents/index.js';
import { embeddedStore, gate, until } from './helpers.js';

const START_MS = Date.UTC(2026, 0, 1);
const LEASE_MS = 30_000;

/** Hears what the pipeline agents broadcast, as an operator's tool would. */
class Listener extends BaseAgent {
  readonly snapshots: Message[] = [];
  readonly finished: Message[] = [];
  constructor(deps: AgentDeps) {
    super('listener', 'test', deps);
    this.onEvent(systemSnapshotEvent, (_d, m) => void this.snapshots.push(m));
    this.onEvent(tasksFinishedEvent, (_d, m) => void this.finished.push(m));
  }
}

describe('pipeline agents on PGlite with the memory bus', () => {
  let db: Db;
  let clock: ManualClock;
  let bus: MemoryBus;
  let registry: TaskRegistry;
  let listener: Listener;
  const agents: BaseAgent[] = [];

  const store = embeddedStore();

  beforeEach(async () => {
    clock = new ManualClock(START_MS);
    db = await store.reset(clock.now());
    bus = createMemoryBus({ clock });
    registry = new TaskRegistry({ db, clock, rng: createRng(1), bus, config: { leaseMs: LEASE_MS, backoffBaseMs: 1_000 } });
    listener = new Listener({ bus, clock });
    await listener.start();
    agents.push(listener);
  });

  afterEach(async () => {
    for (const agent of agents.splice(0).reverse()) await agent.stop();
    await bus.close();
  });

  async function started<A extends BaseAgent>(agent: A): Promise<A> {
    agents.push(agent);
    await agent.start();
    return agent;
  }

  const worker = (id: string, handlers: Record<string, (task: Task, context: TaskContext) => Promise<unknown>>, concurrency = 1) =>
    new WorkerAgent(id, {
      bus,
      clock,
      registry,
      handlers: handlers as never,
      worker: { concurrency, pollIntervalMs: 60_000, sweepIntervalMs: 0 },
    });

  it('dispatches tasks through a request; the registered task wakes its worker, which announces the result', async () => {
    const dispatcher = await started(new TaskDispatcher({ bus, clock, registry }));
    await started(worker('doubler', { double: async (t) => ({ n: (t.payload as { n: number }).n * 2 }) }));
    const answer = await listener.sendRequest(dispatchRequest, { tasks: [{ kind: 'double', payload: { n: 21 } }] }, { to: dispatcher.id });
    expect(answer.tasks).toEqual([{ taskId: expect.any(String), kind: 'double', status: 'PENDING', created: true }]);
    const taskId = answer.tasks[0]!.taskId;
    await until('the task to complete', async () => (await registry.get(taskId)).status === 'COMPLETED');
    expect((await registry.get(taskId)).result).toEqual({ n: 42 });
    await until('the finished event', () => listener.finished.length === 1);
    expect(listener.finished[0]!.data).toMatchObject({ tasks: [{ taskId, kind: 'double', status: 'COMPLETED', attempt: 1, durationMs: expect.any(Number), waitedMs: expect.any(Number) }] });
  });

  it('announces the tasks that finish together in one event', async () => {
    const g = gate();
    const w = await started(worker('resizer', { resize: g.handler }, 8));
    await registry.registerMany(Array.from({ length: 8 }, () => ({ kind: 'resize' })));
    await until('eight running', () => g.runs.length === 8);
    for (const run of g.runs) run.finish({});
    await until('all eight announced', () => listener.finished.flatMap((m) => (m.data as { tasks: unknown[] }).tasks).length === 8);
    expect(listener.finished).toHaveLength(1);
    expect(w.worker.stats.completed).toBe(8);
  });

  it('refuses a dispatch with a bad task, naming the field, and registers none of the batch', async () => {
    const dispatcher = await started(new TaskDispatcher({ bus, clock, registry }));
    const refused = await listener
      .sendRequest(dispatchRequest, { tasks: [{ kind: 'double' }, { kind: 'double', priority: 11 }] }, { to: dispatcher.id })
      .catch((e: unknown) => e as Error);
    expect(refused).toMatchObject({ remoteCode: 'ORC_PROTOCOL_OUT_OF_RANGE' });
    expect((refused as Error).message).toContain('priority');
    expect((await registry.counts()).total).toBe(0);
  });

  it('takes a priority-1 task before a priority-8 one when both wait', async () => {
    const dispatcher = await started(new TaskDispatcher({ bus, clock, registry }));
    await dispatcher.dispatch([
      { kind: 'job', priority: 8, payload: { name: 'low' } },
      { kind: 'job', priority: 5, payload: { name: 'middle' } },
      { kind: 'job', priority: 1, payload: { name: 'urgent' } },
    ]);
    const order: string[] = [];
    await started(worker('jobs', { job: async (t) => void order.push((t.payload as { name: string }).name) }));
    await until('all three', () => order.length === 3);
    expect(order).toEqual(['urgent', 'middle', 'low']);
  });

  it('sweeps a task whose worker died back to the queue, where another worker finishes it', async () => {
    const monitor = await started(new SystemMonitor({ bus, clock, registry, monitor: { intervalMs: 10_000 } }));
    const [task] = await registry.registerMany([{ kind: 'job', payload: {} }]);
    // A worker claims it and dies: nothing renews the lease or reports.
    await registry.claim({ kinds: ['job'], workerId: 'dead-worker', limit: 1 });
    expect((await registry.get(task!.task.taskId)).status).toBe('RUNNING');
    const done: string[] = [];
    await started(worker('rescuer', { job: async (t) => void done.push(`${t.taskId}#${t.attempt}`) }));
    await clock.advance(LEASE_MS + 1);
    // The round the monitor's timer would run now: it sweeps the task back, and the wake-up brings the rescuer.
    expect((await monitor.tick()).swept.requeued).toEqual([task!.task.taskId]);
    await until('the rescuer to finish it', () => done.length === 1);
    expect(done).toEqual([`${task!.task.taskId}#2`]);
    await until('the task to be COMPLETED', async () => (await registry.get(task!.task.taskId)).status === 'COMPLETED');
    expect(monitor.lastSnapshot?.swept.requeued).toEqual([task!.task.taskId]);
  });

  it('fails a stuck task out of attempts with a timeout, and its snapshot counts match the registry', async () => {
    const monitor = await started(new SystemMonitor({ bus, clock, registry }));
    await registry.registerMany([
      { kind: 'job', maxAttempts: 1, priority: 2 },
      { kind: 'job', priority: 7 },
      { kind: 'other', priority: 7 },
    ]);
    const [claimed] = await registry.claim({ kinds: ['job'], workerId: 'dead-worker', limit: 1 });
    expect(claimed!.priority).toBe(2);
    await clock.advance(LEASE_MS + 1);
    const snapshot = await monitor.tick();
    expect(snapshot.swept.failed).toEqual([claimed!.taskId]);
    expect((await registry.get(claimed!.taskId)).error).toMatchObject({ code: 'ORC_REGISTRY_TIMEOUT' });
    expect(snapshot.counts).toEqual(await registry.counts());
    expect(snapshot.counts.byStatus).toMatchObject({ FAILED: 1, PENDING: 2, RUNNING: 0 });
    expect(snapshot.counts.byPriority).toMatchObject({ 2: 1, 7: 2 });
    await until('the snapshot event', () => listener.snapshots.some((m) => systemSnapshotEvent.data.parse(m.data).swept.failed.length === 1));
    const asked = await listener.sendRequest(getSnapshotRequest, {}, { to: monitor.id });
    expect(asked.counts.total).toBe(3);
  });

  it('times out a handler that hangs while its process lives, retries the task, and counts the timed-out attempt', async () => {
    const monitor = await started(new SystemMonitor({ bus, clock, registry }));
    const signals: AbortSignal[] = [];
    // The first attempt hangs and ignores its signal; the retry finishes.
    const handler = async (task: Task, context: { signal: AbortSignal }) => {
      signals.push(context.signal);
      return task.attempt === 1 ? new Promise(() => undefined) : { ok: true };
    };
    await started(
      new WorkerAgent('hanger', { bus, clock, registry, handlers: { hang: handler as never }, worker: { pollIntervalMs: 1_000, sweepIntervalMs: 0, runTimeoutMs: 60_000 } }),
    );
    const [registered] = await registry.registerMany([{ kind: 'hang' }]);
    const taskId = registered!.task.taskId;
    await until('the first attempt to start', () => signals.length === 1);
    await clock.advance(59_999);
    expect(signals[0]!.aborted).toBe(false);
    await clock.advance(1);
    await until('the attempt to fail', async () => (await registry.get(taskId)).error?.code === 'ORC_WORKER_RUN_TIMEOUT');
    expect(signals[0]!.reason).toMatchObject({ code: 'ORC_WORKER_RUN_TIMEOUT' });
    expect(await registry.get(taskId)).toMatchObject({ status: 'PENDING', error: { attempt: 1, retryable: true } });
    await clock.advance(1_000);
    await until('the retry to complete', async () => (await registry.get(taskId)).status === 'COMPLETED');
    expect(await registry.get(taskId)).toMatchObject({ attempt: 2, result: { ok: true } });
    expect((await monitor.tick()).timedOutAttempts).toBe(1);
  });

  it('publishes a snapshot every interval on the injected clock', async () => {
    await started(new SystemMonitor({ bus, clock, registry, monitor: { intervalMs: 10_000 } }));
    await clock.advance(9_999);
    expect(listener.snapshots).toHaveLength(0);
    await clock.advance(1);
    await until('the first snapshot', () => listener.snapshots.length === 1);
    await clock.advance(10_000);
    await until('the second snapshot', () => listener.snapshots.length === 2);
  });

  it('lists the running agents through the orchestrator, marks the silent and the stopped', async () => {
    const orchestrator = new OrchestratorAgent({ bus, clock, db, registry, config: { heartbeatMs: 10_000 } });
    const dispatcher = new TaskDispatcher({ bus, clock, registry, config: { heartbeatMs: 10_000 } });
    const jobs = worker('jobs', { job: async () => undefined });
    orchestrator.manage(dispatcher, jobs);
    await started(orchestrator);
    const list = async () => (await listener.sendRequest(listAgentsRequest, {})).agents;
    await until('every agent listed', async () => (await list()).length === 3);
    expect((await list()).map((a) => [a.agentId, a.role, a.state])).toEqual([
      ['dispatcher', 'dispatcher', 'running'],
      ['jobs', 'worker', 'running'],
      ['orchestrator', 'orchestrator', 'running'],
    ]);

    // An instance that announced itself once and then went quiet without saying it stopped.
    const ghost = { agentId: 'ghost', instanceId: 'g1', role: 'worker', state: 'running', startedAt: clock.now(), at: clock.now(), details: {} };
    await bus.publish(PRESENCE_TOPIC, createMessage({ type: 'event', from: 'ghost', to: null, action: agentStatusEvent.name, data: ghost }, clock.now()));
    await until('the ghost listed', async () => (await list()).some((a) => a.agentId === 'ghost'));
    for (let i = 0; i < 4; i++) await clock.advance(10_000);
    await until('the ghost silent while the others heartbeat', async () => {
      const agents = await list();
      return agents.find((a) => a.agentId === 'ghost')?.state === 'silent' && agents.find((a) => a.agentId === 'jobs')?.state === 'running';
    });

    await jobs.stop();
    await until('the stopped worker', async () => (await list()).find((a) => a.agentId === 'jobs')?.state === 'stopped');
    const status = await listener.sendRequest(getSystemStatusRequest, {});
    expect(status.tasks.total).toBe(0);
  });

  it('keeps the agent directory in the store: a restarted orchestrator still lists what it heard', async () => {
    const first = await started(new OrchestratorAgent({ bus, clock, db, registry }));
    await started(worker('jobs', { job: async () => undefined }));
    await until('the worker listed', async () => (await first.listAgents()).some((a) => a.agentId === 'jobs'));
    await first.stop();
    const second = await started(new OrchestratorAgent({ bus, clock, db, registry }));
    const listed = await second.listAgents();
    expect(listed.filter((a) => a.agentId === 'jobs').map((a) => a.state)).toEqual(['running']);
    expect(listed.filter((a) => a.agentId === 'orchestrator').map((a) => a.state).sort()).toEqual(['running', 'stopped']);
  });

  it('keeps the alerts it hears for get_system_status, in the store: a restarted orchestrator still shows them', async () => {
    const first = await started(new OrchestratorAgent({ bus, clock, db, registry }));
    await listener.sendEvent(botIsolatedEvent, { botId: 'b7', reason: '5 failed tasks in a row', tasksMoved: 2 });
    await listener.sendEvent(environmentChangeDetectedEvent, { studyId: 's', generation: 4, baseline: 0.9, recent: 0.6, drop: 0.3, since: 31 });
    const status = async () => await listener.sendRequest(getSystemStatusRequest, {});
    await until('both alerts', async () => (await status()).alerts.length === 2);
    expect((await status()).alerts.map((a) => [a.action, a.from])).toEqual([
      ['bot_isolated', 'listener'],
      ['environment_change_detected', 'listener'],
    ]);
    await first.stop();
    await started(new OrchestratorAgent({ bus, clock, db, registry }));
    const after = await status();
    expect(after.alerts.map((a) => [a.action, a.from])).toEqual([
      ['bot_isolated', 'listener'],
      ['environment_change_detected', 'listener'],
    ]);
    expect(after.alerts[0]!.data).toEqual({ botId: 'b7', reason: '5 failed tasks in a row', tasksMoved: 2 });
  });
});
