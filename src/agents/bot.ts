import {
  OrchestraError,
  botKind,
  deregisterBotRequest,
  describeError,
  heartbeatCommand,
  registerBotRequest,
  restartCommand,
  resumeCommand,
  stopCommand,
  type JsonValue,
  type Rng,
  type TaskHandler,
  type TimerHandle,
} from '../protocol/index.js';
import type { TaskRegistry } from '../registry/index.js';
import type { AgentDeps } from './base-agent.js';
import { fleetConfig, type FleetConfig, type FleetOptions } from './fleet-config.js';
import { WorkerAgent } from './worker-agent.js';

/**
 * How a simulated bot misbehaves, so that restarts and isolation really
 * happen in the embedded fleet. Real bots have no such settings.
 */
export interface BotBehaviour {
  /** Chance that a task crashes the bot's attempt. */
  failureRate?: number;
  /** Added to every task's run time. */
  extraDelayMs?: number;
  /** Chance, at each heartbeat, that the bot freezes: no heartbeats, no progress. */
  silenceRate?: number;
  /** How long a freeze lasts. */
  silenceMs?: number;
}

export interface BotDeps extends AgentDeps {
  registry: TaskRegistry;
  botId: string;
  deviceId?: string;
  role?: string;
  group?: string;
  /** Runs one test: the workload's evaluator. */
  handler: TaskHandler;
  fleet?: FleetOptions;
  behaviour?: BotBehaviour;
  /** Draws the simulated misbehaviour; required when `behaviour` sets a rate. */
  rng?: Rng;
}

/**
 * One bot of the fleet: an agent (`bot.<id>`) that registers with the bot
 * agent, heartbeats, and runs the tests handed to it, at most
 * `maxTasksPerBot` at once. Commands: `restart` (a fresh worker; what it held
 * was already given to others), `stop` (isolated: it takes nothing more),
 * `resume` (reinstated: it takes tasks and heartbeats again).
 */
export class Bot extends WorkerAgent {
  readonly botId: string;
  readonly fleet: FleetConfig;
  private readonly info: { deviceId: string; role: string; group: string };
  private pulse: TimerHandle | undefined;
  private frozenUntil = 0;
  private halted = false;
  private registered = false;

  constructor(private readonly botDeps: BotDeps) {
    const fleet = fleetConfig.parse(botDeps.fleet ?? {});
    const kind = botKind(botDeps.botId);
    super(
      kind,
      {
        ...botDeps,
        handlers: { [kind]: (task, context) => this.runTest(task, context) },
        // The tests waiting for this bot are its own (the bot agent handed them to it): one claimed
        // ahead per slot starts the moment the slot frees, not after the last one's report is stored.
        worker: { concurrency: fleet.maxTasksPerBot, prefetch: Math.min(fleet.waitingPerBot, fleet.maxTasksPerBot), sweepIntervalMs: 0 },
      },
      'bot',
    );
    this.botId = botDeps.botId;
    this.fleet = fleet;
    this.info = { deviceId: botDeps.deviceId ?? botDeps.botId, role: botDeps.role ?? 'tester', group: botDeps.group ?? 'default' };
    this.onCommand(restartCommand, async () => {
      await this.waitWhileFrozen();
      if (this.halted) return;
      await this.restartWorker();
      await this.beat();
    });
    this.onCommand(stopCommand, async () => {
      this.halted = true;
      this.clock.clearTimeout(this.pulse);
      await this.worker.stop({ graceMs: 0 });
    });
    this.onCommand(resumeCommand, async () => {
      if (!this.halted) return;
      this.halted = false;
      await this.restartWorker();
      await this.beat();
      this.schedulePulse();
    });
  }

  get frozen(): boolean {
    return this.clock.now() < this.frozenUntil;
  }

  protected override async run(): Promise<void> {
    await this.register();
    await super.run();
    this.schedulePulse();
  }

  protected override async cleanup(): Promise<void> {
    this.clock.clearTimeout(this.pulse);
    await super.cleanup();
    // Said, not assumed: a bot that stops cleanly is offline, not silent, and is not restarted.
    if (this.registered && !this.halted) {
      await this.sendRequest(deregisterBotRequest, { botId: this.botId }, { timeoutMs: this.fleet.heartbeatIntervalMs }).catch(() => undefined);
    }
  }

  protected override details(): Record<string, JsonValue> {
    return { ...super.details(), botId: this.botId, halted: this.halted, frozen: this.frozen };
  }

  private async runTest(...args: Parameters<TaskHandler>): Promise<JsonValue | void> {
    const [, context] = args;
    const { behaviour, rng } = this.botDeps;
    if (behaviour?.extraDelayMs) await this.clock.sleep(behaviour.extraDelayMs, context.signal);
    await this.waitWhileFrozen(context.signal);
    if (behaviour?.failureRate && rng && rng.next() < behaviour.failureRate) throw new OrchestraError('ORC_WORKER_HANDLER_FAILED', `bot ${this.botId} crashed running the test`, true);
    return this.botDeps.handler(...args);
  }

  private async register(): Promise<void> {
    try {
      await this.sendRequest(registerBotRequest, { botId: this.botId, ...this.info }, { timeoutMs: this.fleet.heartbeatIntervalMs });
      this.registered = true;
    } catch (err) {
      // The bot agent may start after its bots: the next heartbeat tries again.
      this.logger.warn({ err: describeError(err) }, 'bot not registered yet');
    }
  }

  private async beat(): Promise<void> {
    if (!this.registered) return this.register();
    await this.sendCommand(heartbeatCommand, { botId: this.botId, running: this.worker.stats.running }).catch((err: unknown) =>
      this.logger.warn({ err: describeError(err) }, 'heartbeat not sent'),
    );
  }

  private schedulePulse(): void {
    this.pulse = this.clock.setTimeout(() => {
      if (this.state !== 'running' || this.halted) return;
      const { behaviour, rng } = this.botDeps;
      if (!this.frozen && behaviour?.silenceRate && rng && rng.next() < behaviour.silenceRate) {
        this.frozenUntil = this.clock.now() + (behaviour.silenceMs ?? 2 * this.fleet.heartbeatTimeoutMs);
        this.logger.info({ until: this.frozenUntil }, 'bot froze');
      }
      const beat = this.frozen ? Promise.resolve() : this.beat();
      void beat.finally(() => this.schedulePulse());
    }, this.fleet.heartbeatIntervalMs);
  }

  private async waitWhileFrozen(signal?: AbortSignal): Promise<void> {
    while (this.frozen) await this.clock.sleep(this.frozenUntil - this.clock.now(), signal);
  }
}
