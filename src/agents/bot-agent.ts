import {
  OrchestraError,
  assignCampaignTaskRequest,
  BOT_AGENT_ID,
  botIdOfKind,
  botIsolatedEvent,
  botKind,
  botStatusUpdateEvent,
  createTestTaskRequest,
  deregisterBotRequest,
  describeError,
  getAvailableBotCountRequest,
  getBotStatusRequest,
  heartbeatCommand,
  isolateBotCommand,
  registerBotRequest,
  reinstateBotCommand,
  restartBotCommand,
  restartCommand,
  resumeCommand,
  stopCommand,
  taskCompletedEvent,
  tasksFinishedEvent,
  type FinishedTask,
  TEST_BACKLOG_KIND,
  type BotInfo,
  type JsonValue,
  type NewTask,
  type TestRequest,
  type TimerHandle,
} from '../protocol/index.js';
import type { TaskRegistry } from '../registry/index.js';
import {
  getBot,
  listBots,
  markIsolated,
  markOffline,
  markRestarting,
  markLost,
  recordHeartbeat,
  recordOutcome,
  registerBot,
  reinstateBot,
  type BotRow,
  type Db,
} from '../store/index.js';
import { BaseAgent, type AgentDeps } from './base-agent.js';
import { fleetConfig, type FleetConfig, type FleetOptions } from './fleet-config.js';
import { restartsInWindow, selectBot } from './fleet-rules.js';

export interface BotAgentDeps extends AgentDeps {
  db: Db;
  registry: TaskRegistry;
  fleet?: FleetOptions;
}

/**
 * Owns the fleet. Bots register and heartbeat; a bot silent past the
 * heartbeat timeout is restarted, one that keeps needing restarts or keeps
 * failing is isolated, and the tasks a restarted or isolated bot held go back
 * to the waiting tests. Waiting tests are handed to bots by
 * `0.5 × (1 − load) + 0.5 × success rate`, at most `maxTasksPerBot` each
 * (and `waitingPerBot` more waiting for a slot).
 * Bots and their success rates live in the store; the tasks in the registry.
 *
 * Requests: `register_bot`, `deregister_bot`, `create_test_task`, `assign_campaign_task`,
 * `get_available_bot_count`, `get_bot_status`. Commands: `heartbeat`,
 * `restart_bot`, `isolate_bot`, `reinstate_bot`. Events: `bot_status_update`,
 * `task_completed`, `bot_isolated`, all on `fleet.status`.
 */
export class BotAgent extends BaseAgent {
  readonly fleet: FleetConfig;
  private readonly db: Db;
  private readonly registry: TaskRegistry;
  private timer: TimerHandle | undefined;
  private rounds: Promise<void> | undefined;
  private again = false;
  /**
   * The last round handed every runnable waiting test to a bot, and nothing
   * has been put back among the waiting tests through this agent since: a
   * finished test then frees a slot there is nothing to fill, and needs no
   * round. Tests that become runnable on their own (a `runAt` reached, a test
   * registered by another process) are handed out by the periodic round.
   */
  private backlogHandedOut = false;
  /** Counts the times tests were put back among the waiting ones, so a round does not mark as handed out what joined during it. */
  private putBacks = 0;

  constructor(deps: BotAgentDeps, id = BOT_AGENT_ID) {
    super(id, 'bots', deps);
    this.db = deps.db;
    this.registry = deps.registry;
    this.fleet = fleetConfig.parse(deps.fleet ?? {});

    this.onRequest(registerBotRequest, async (bot) => {
      const row = await registerBot(this.db, bot, this.clock.now());
      await this.statusUpdate(row);
      this.wake();
      return botInfo(row);
    });
    this.onRequest(deregisterBotRequest, async ({ botId }) => {
      await markOffline(this.db, botId);
      // A bot leaving cleanly may still have had tests handed to it that it never claimed.
      if ((await this.takeBack(botId)) > 0) this.wake();
      const row = await getBot(this.db, botId);
      if (row) await this.statusUpdate(row);
      return { botId, state: row?.state ?? null };
    });
    this.onRequest(createTestTaskRequest, async ({ tests }) => {
      const tasks = await this.registerNew(tests.map(toTask));
      this.backlogGrew();
      return { tasks };
    });
    this.onRequest(assignCampaignTaskRequest, async ({ runs }) => {
      const tasks = await this.registerNew(runs.map(({ runAt, ...run }) => ({ ...toTask(run), ...(runAt !== undefined ? { runAt } : {}) })));
      this.backlogGrew();
      return { tasks };
    });
    this.onRequest(getAvailableBotCountRequest, async () => {
      const bots = await listBots(this.db);
      const loads = await this.loads(bots);
      const online = bots.filter((b) => b.state === 'online');
      const available = online.filter((b) => (loads.get(b.botId) ?? 0) < this.slots).length;
      return { available, online: online.length, total: bots.length, isolated: bots.filter((b) => b.state === 'isolated').length };
    });
    this.onRequest(getBotStatusRequest, async ({ botId }) => {
      const bots = botId ? [await getBot(this.db, botId)].filter((b): b is BotRow => b !== null) : await listBots(this.db);
      if (botId && bots.length === 0) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `no bot has id ${botId}`);
      const loads = await this.loads(bots);
      return { bots: bots.map((b) => ({ ...botInfo(b), tasks: loads.get(b.botId) ?? 0 })) };
    });

    this.onCommand(heartbeatCommand, async ({ botId }) => {
      const before = await getBot(this.db, botId);
      const row = await recordHeartbeat(this.db, botId, this.clock.now());
      if (row && before && before.state !== row.state) {
        await this.statusUpdate(row);
        this.wake();
      }
    });
    this.onCommand(restartBotCommand, async ({ botId, reason }) => {
      await this.restart(botId, reason ?? 'restart requested');
    });
    this.onCommand(isolateBotCommand, async ({ botId, reason }) => {
      await this.isolate(botId, reason ?? 'isolation requested');
    });
    this.onCommand(reinstateBotCommand, async ({ botId, reason, by }, message) => {
      await this.reinstate(botId, { by: by ?? message.from, reason: reason ?? 'reinstatement requested' });
    });
    this.onEvent(tasksFinishedEvent, async ({ tasks }) => {
      for (const task of tasks) await this.taskFinished(task);
    });
  }

  /** One round now: restart the silent, hand waiting tests to bots. Rounds never overlap; one asked for during a round runs after it. */
  tick(): Promise<void> {
    if (this.rounds) {
      this.again = true;
      return this.rounds;
    }
    this.rounds = (async () => {
      do {
        this.again = false;
        const bots = await listBots(this.db);
        // One read of the fleet serves both steps, unless the first changed it.
        const changed = await this.checkHeartbeats(bots);
        await this.assign(changed ? await listBots(this.db) : bots);
      } while (this.again && this.state === 'running');
    })().finally(() => (this.rounds = undefined));
    return this.rounds;
  }

  /** Restarts a bot: its tasks go back to the waiting tests; isolated instead when it restarts too often. */
  async restart(botId: string, reason: string): Promise<void> {
    const now = this.clock.now();
    const bot = await getBot(this.db, botId);
    if (!bot || bot.state === 'isolated') return;
    if (restartsInWindow(bot.recentRestarts, now, this.fleet.restartWindowMs) + 1 >= this.fleet.isolateAfterRestarts) {
      await this.isolate(botId, `restarted ${this.fleet.isolateAfterRestarts} times within ${this.fleet.restartWindowMs} ms; last: ${reason}`);
      return;
    }
    const row = await markRestarting(this.db, botId, now, now - this.fleet.restartWindowMs, reason);
    if (!row) return;
    await this.takeBack(botId);
    this.logger.warn({ botId, reason, restarts: row.restarts }, 'restarting bot');
    // A remote bot is told in the answer to its next heartbeat or poll, which reads its state.
    if (row.transport === 'bus') {
      await this.sendCommand(restartCommand, { reason }, { to: botKind(botId) }).catch((err: unknown) => this.logger.warn({ botId, err: describeError(err) }, 'restart not sent'));
    }
    await this.statusUpdate(row);
  }

  /** A restarted bot that never came back: out of the fleet, what it held back with the others, until it calls in again. */
  private async lose(botId: string, reason: string): Promise<void> {
    const row = await markLost(this.db, botId, reason);
    if (!row) return;
    await this.takeBack(botId);
    this.logger.warn({ botId, reason }, 'bot lost');
    await this.statusUpdate(row);
  }

  /** Takes a bot out of the fleet: its unfinished tasks go to the others. */
  async isolate(botId: string, reason: string): Promise<void> {
    const row = await markIsolated(this.db, botId, this.clock.now(), reason);
    if (!row) return;
    const moved = await this.takeBack(botId);
    this.logger.warn({ botId, reason, moved }, 'bot isolated');
    if (row.transport === 'bus') await this.sendCommand(stopCommand, { reason }, { to: botKind(botId) }).catch(() => undefined);
    await this.statusUpdate(row);
    await this.sendEvent(botIsolatedEvent, { botId, reason, tasksMoved: moved }).catch(() => undefined);
    this.wake();
  }

  /**
   * Puts an isolated bot back in the fleet (see reinstateBot for its success
   * rate) and tells it to take tasks again. A bot already back (reinstated
   * through the store by a command-line tool, say) is only told to resume.
   * Without this a long-running fleet could only shrink.
   */
  async reinstate(botId: string, request: { by: string; reason: string }): Promise<BotRow | null> {
    const row = (await reinstateBot(this.db, botId, this.clock.now(), request)) ?? (await getBot(this.db, botId));
    if (!row || row.state === 'isolated') return null;
    this.logger.warn({ botId, by: row.reinstatedBy, reason: row.reinstateReason, successRate: row.successRate }, 'bot reinstated');
    if (row.transport === 'bus') {
      await this.sendCommand(resumeCommand, { reason: request.reason }, { to: botKind(botId) }).catch((err: unknown) => this.logger.warn({ botId, err: describeError(err) }, 'resume not sent'));
    }
    await this.statusUpdate(row);
    this.wake();
    return row;
  }

  protected override async run(): Promise<void> {
    this.schedule();
    this.wake();
  }

  protected override async cleanup(): Promise<void> {
    this.clock.clearTimeout(this.timer);
    await this.rounds?.catch(() => undefined);
  }

  protected override details(): Record<string, JsonValue> {
    return { maxTasksPerBot: this.fleet.maxTasksPerBot, waitingPerBot: this.fleet.waitingPerBot };
  }

  /** Tests one bot may hold: those it runs and those waiting for its next free slot. */
  private get slots(): number {
    return this.fleet.maxTasksPerBot + this.fleet.waitingPerBot;
  }

  private wake(): void {
    if (this.state === 'running') this.tick().catch((err: unknown) => this.logger.error({ err: describeError(err) }, 'fleet round failed'));
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      if (this.state !== 'running') return;
      this.tick()
        .catch((err: unknown) => this.logger.error({ err: describeError(err) }, 'fleet round failed'))
        .finally(() => this.state === 'running' && this.schedule());
    }, this.fleet.checkIntervalMs);
  }

  /** Restarts the silent bots and loses the ones a restart did not bring back; true when it changed any. */
  private async checkHeartbeats(fleet: readonly BotRow[]): Promise<boolean> {
    const silentBefore = this.clock.now() - this.fleet.heartbeatTimeoutMs;
    let changed = false;
    for (const bot of fleet) {
      if (bot.lastHeartbeatAt > silentBefore) continue;
      // Restarting sets the heartbeat clock: still silent a whole timeout later, the bot did not come back.
      if (bot.state === 'restarting') await this.lose(bot.botId, `no heartbeat for ${this.clock.now() - bot.lastHeartbeatAt} ms after its restart`);
      // A draining bot still owes what it holds: gone silent, it is restarted like any other.
      else if (bot.state === 'online' || bot.state === 'draining') await this.restart(bot.botId, `silent for ${this.clock.now() - bot.lastHeartbeatAt} ms`);
      else continue;
      changed = true;
    }
    return changed;
  }

  /** Hands waiting tests to online bots with room for them (see `slots`), by the selection formula. */
  private async assign(fleet: readonly BotRow[]): Promise<void> {
    const bots = fleet.filter((b) => b.state === 'online');
    if (bots.length === 0) return;
    const loads = await this.loads(bots);
    const free = bots.reduce((n, b) => n + Math.max(0, this.slots - (loads.get(b.botId) ?? 0)), 0);
    if (free === 0) return;
    // More than the free slots: tests meant for a group whose bots are busy must not hold back the others behind them.
    // In the order a claim would take them: priority, then registration.
    const limit = free * 10;
    const putBacks = this.putBacks;
    const waiting = await this.registry.runnable(TEST_BACKLOG_KIND, limit);
    const plan: { taskId: string; kind: string }[] = [];
    let freeLeft = free;
    for (const task of waiting) {
      if (freeLeft === 0) break;
      // A test for one group or role goes only to its bots; it waits while none of them has a slot.
      const { group, role } = task.payload as { group?: unknown; role?: unknown };
      const eligible = bots.filter((b) => (typeof group !== 'string' || b.group === group) && (typeof role !== 'string' || b.role === role));
      const chosen = selectBot(
        eligible.map((b) => ({ botId: b.botId, tasks: loads.get(b.botId) ?? 0, successRate: b.successRate })),
        this.slots,
      );
      if (!chosen) continue;
      freeLeft--;
      loads.set(chosen.botId, (loads.get(chosen.botId) ?? 0) + 1);
      plan.push({ taskId: task.taskId, kind: botKind(chosen.botId) });
    }
    const moved = await this.registry.assign(plan, [TEST_BACKLOG_KIND]);
    this.backlogHandedOut = putBacks === this.putBacks && waiting.length < limit && moved.length === waiting.length;
    if (moved.length === 0) return;
    // A bot isolated, restarted or lost since the list was read has taken back what it held already, but not these.
    const given = new Set(moved.map((m) => m.kind));
    for (const bot of await listBots(this.db)) {
      if (bot.state !== 'online' && given.has(botKind(bot.botId))) await this.takeBack(bot.botId);
    }
  }

  /** Tasks each bot holds now, waiting or running. */
  private async loads(bots: readonly BotRow[]): Promise<Map<string, number>> {
    const counts = await this.registry.unfinishedByKind(bots.map((b) => botKind(b.botId)));
    return new Map(bots.map((b) => {
      const c = counts.get(botKind(b.botId))!;
      return [b.botId, c.pending + c.running];
    }));
  }

  private async takeBack(botId: string): Promise<number> {
    const moved = await takeBackTests(this.registry, botId);
    if (moved > 0) this.putBack();
    return moved;
  }

  /** Tests joined the waiting ones: the next round hands them out. */
  private backlogGrew(): void {
    this.putBack();
    this.wake();
  }

  private putBack(): void {
    this.putBacks++;
    this.backlogHandedOut = false;
  }

  private async taskFinished(event: FinishedTask): Promise<void> {
    const botId = botIdOfKind(event.kind);
    if (!botId) return;
    const success = event.status === 'COMPLETED';
    const row = await recordOutcome(this.db, botId, success, this.fleet.successRateWeight);
    if (!row) return;
    if (success) {
      await this.sendEvent(taskCompletedEvent, { taskId: event.taskId, botId, attempt: event.attempt }).catch(() => undefined);
    } else {
      // Counted in the store, so a bot agent restarted mid-streak goes on counting from where it was.
      const inARow = row.failuresInARow;
      // A failed attempt that will be retried goes back to the waiting tests, so the formula picks its next bot.
      if (event.status === 'PENDING' && (await this.registry.reassign([event.taskId], TEST_BACKLOG_KIND, [event.kind])).length > 0) this.putBack();
      if (inARow >= this.fleet.isolateAfterFailures) await this.isolate(botId, `${inARow} failed tasks in a row`);
    }
    // A slot came free: worth a round only when tests may be waiting for one.
    if (!this.backlogHandedOut) this.wake();
  }

  /**
   * Registers the tests not registered yet. A repeated request (a retry, a
   * redelivery) may name tests already handed to a bot, whose kind is now the
   * bot's: registering them again would be refused as another kind of work.
   */
  private async registerNew(tasks: NewTask[]): Promise<{ taskId: string; created: boolean }[]> {
    const known = new Set((await this.registry.getMany(tasks.map((t) => t.taskId!))).map((t) => t.taskId));
    const registered = new Map((await this.registry.registerMany(tasks.filter((t) => !known.has(t.taskId!)))).map((r) => [r.task.taskId, r.created]));
    return tasks.map((t) => ({ taskId: t.taskId!, created: registered.get(t.taskId!) ?? false }));
  }

  private async statusUpdate(bot: BotRow): Promise<void> {
    await this.sendEvent(botStatusUpdateEvent, botInfo(bot)).catch(() => undefined);
  }
}

/** Moves a bot's unfinished tests back to the waiting ones, for the formula to hand to other bots. Returns how many moved. */
export async function takeBackTests(registry: TaskRegistry, botId: string): Promise<number> {
  const kind = botKind(botId);
  const held = await registry.list({ status: ['PENDING', 'RUNNING'], kind: [kind], limit: 10_000 });
  const moved = await registry.reassign(held.map((t) => t.taskId), TEST_BACKLOG_KIND, [kind]);
  return moved.length;
}

function toTask(t: TestRequest): NewTask {
  const { taskId, priority, maxAttempts, ...payload } = t;
  return { taskId, idempotencyKey: taskId, kind: TEST_BACKLOG_KIND, payload, ...(priority ? { priority } : {}), ...(maxAttempts ? { maxAttempts } : {}) };
}

/** A bot as the fleet's events and replies show it. */
export function botInfo(b: BotRow): BotInfo {
  return {
    botId: b.botId,
    deviceId: b.deviceId,
    role: b.role,
    group: b.group,
    state: b.state,
    transport: b.transport,
    successRate: b.successRate,
    restarts: b.restarts,
    completed: b.completed,
    failed: b.failed,
    lastHeartbeatAt: b.lastHeartbeatAt,
    isolatedAt: b.isolatedAt,
    reason: b.reason,
    reinstatedAt: b.reinstatedAt,
    reinstatedBy: b.reinstatedBy,
    reinstateReason: b.reinstateReason,
    reinstatements: b.reinstatements,
  };
}
