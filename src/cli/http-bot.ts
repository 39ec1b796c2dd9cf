import { EventEmitter } from 'node:events';
import { describeError, OrchestraError, testPayloadSchema, type Clock, type Variables } from '../protocol/index.js';
import type { Evaluation } from '../workloads/index.js';
import { ApiCallError, type ApiClient } from './api-client.js';

/** A task as the fleet hands it to a remote bot. */
export interface BotTask {
  taskId: string;
  attempt: number;
  kind: string;
  priority: number;
  payload: unknown;
  leaseExpiresAt: number | null;
}

type Directive = 'run' | 'restart' | 'stop' | 'register';

interface Registration {
  token: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  maxTasksPerBot: number;
  leaseMs: number;
  pollWaitMs: number;
}

/** Runs one test: the variables and trial of its payload, and whether it is a campaign's run. */
export type BotEvaluator = (test: { workload: string; variables: Variables; trial: number; campaignId?: string }, signal: AbortSignal) => Promise<Evaluation>;

export interface HttpBotOptions {
  /** The server, with a registration (or admin) token. */
  api: ApiClient;
  botId: string;
  deviceId: string;
  role: string;
  group: string;
  /** Tests run at once; the fleet's own cap (3 by default) bounds it too. */
  capacity: number;
  evaluate: BotEvaluator;
  clock: Clock;
}

export interface HttpBotStats {
  state: 'starting' | 'running' | 'isolated' | 'draining' | 'stopped';
  running: number;
  completed: number;
  failed: number;
  /** Attempts dropped because the fleet took them back (restart, isolation, lost lease) or whose report was refused as late. */
  dropped: number;
  restarts: number;
}

export interface HttpBotEvents {
  /** A line worth telling the person running the bot. */
  notice: [text: string];
}

/** Waits after a failed call before the next: doubling from a second, at most ten. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 10_000;

/**
 * A bot of the fleet in another process, on another machine: it speaks only
 * the API's bot protocol and holds no database or Redis credential. It
 * registers, heartbeats (renewing the leases of what it runs), long-polls for
 * the tests the fleet hands it, runs each through its evaluator and reports
 * the evaluation under the attempt it was given. What the fleet decides
 * (restart, isolation, reinstatement) reaches it in the answer to its next
 * heartbeat or poll. `drain()` takes no more work, lets what runs finish and
 * leaves the fleet; `stop()` drops what runs at once.
 */
export class HttpBot extends EventEmitter<HttpBotEvents> {
  private client: ApiClient | undefined;
  private timings: Registration | undefined;
  private readonly running = new Map<string, { task: BotTask; abort: AbortController; done: Promise<void> }>();
  private readonly counts = { completed: 0, failed: 0, dropped: 0, restarts: 0 };
  private phase: HttpBotStats['state'] = 'starting';
  private poll: AbortController | undefined;
  private slotFreed: (() => void) | undefined;
  private loops: Promise<void> | undefined;
  private readonly ended = new AbortController();
  private fatal: unknown;

  constructor(private readonly options: HttpBotOptions) {
    super();
  }

  get stats(): HttpBotStats {
    return { state: this.phase, running: this.running.size, ...this.counts };
  }

  /** The fleet's timings, once registered. */
  get registration(): Omit<Registration, 'token'> | undefined {
    if (!this.timings) return undefined;
    const { token: _token, ...timings } = this.timings;
    return timings;
  }

  /** Registers (an error here is the caller's: a wrong URL or token), then works until drained or stopped. */
  async start(): Promise<void> {
    await this.register();
    this.phase = 'running';
    this.loops = Promise.all([this.pollLoop(), this.heartbeatLoop()]).then(() => undefined);
  }

  /** Resolves when the bot has stopped; rejects when it stopped on an error it cannot get past (its token refused). */
  async finished(): Promise<void> {
    await this.loops;
    if (this.fatal) throw this.fatal;
  }

  /** Takes no more work, lets the running tests finish and report, and leaves the fleet. */
  async drain(): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'draining') return this.finished().catch(() => undefined);
    this.phase = 'draining';
    this.poll?.abort();
    this.slotFreed?.();
    await Promise.all([...this.running.values()].map((r) => r.done));
    await this.leave();
  }

  /** Stops at once: running tests are aborted (their commands killed) and not reported; the fleet gives them to others. */
  async stop(): Promise<void> {
    this.phase = 'stopped';
    this.ended.abort();
    this.poll?.abort();
    this.slotFreed?.();
    this.dropAll('the bot stopped');
    await this.loops?.catch(() => undefined);
  }

  private get api(): ApiClient {
    if (!this.client) throw new OrchestraError('ORC_CLI_BAD_ARGUMENT', 'the bot is not registered');
    return this.client;
  }

  /** Read through a getter: the phase changes across awaits, which narrowing would not see. */
  private get stopped(): boolean {
    return this.phase === 'stopped';
  }

  private get active(): boolean {
    return this.phase === 'running' || this.phase === 'isolated';
  }

  private async register(): Promise<void> {
    const { botId, deviceId, role, group } = this.options;
    const answer = await this.options.api.post<Registration & { bot: { state: string } }>('/api/fleet/register', { botId, deviceId, role, group });
    this.timings = answer;
    this.client = this.options.api.as(answer.token);
    if (answer.bot.state === 'isolated') this.phase = 'isolated';
    this.emit('notice', `bot ${botId} registered (${answer.bot.state}): up to ${this.capacity} tests at once, heartbeat every ${answer.heartbeatIntervalMs} ms`);
  }

  private get capacity(): number {
    return Math.min(this.options.capacity, this.timings?.maxTasksPerBot ?? this.options.capacity);
  }

  private async pollLoop(): Promise<void> {
    let failures = 0;
    while (this.active) {
      if (this.phase === 'isolated' || this.running.size >= this.capacity) {
        // A slot frees when a test ends; an isolated bot waits for its heartbeat to say it is back.
        await new Promise<void>((resolve) => {
          this.slotFreed = resolve;
          if (this.phase === 'isolated') void this.options.clock.sleep(this.timings!.heartbeatIntervalMs, this.ended.signal).then(resolve, resolve);
        });
        this.slotFreed = undefined;
        continue;
      }
      this.poll = new AbortController();
      try {
        const answer = await this.api.post<{ directive: Directive; tasks: BotTask[] }>(
          `/api/fleet/bots/${encodeURIComponent(this.options.botId)}/claim`,
          { free: this.capacity - this.running.size, waitMs: this.timings!.pollWaitMs },
          this.poll.signal,
        );
        failures = 0;
        await this.obey(answer.directive);
        for (const task of answer.tasks) this.run(task);
      } catch (err) {
        if (!this.active) break;
        if (await this.refused(err)) break;
        failures++;
        await this.pause(failures, 'asking for work', err);
      } finally {
        this.poll = undefined;
      }
    }
  }

  private async heartbeatLoop(): Promise<void> {
    let failures = 0;
    while (this.active || this.phase === 'draining') {
      await this.options.clock.sleep(this.timings!.heartbeatIntervalMs, this.ended.signal).catch(() => undefined);
      if (this.phase === 'stopped') break;
      if (this.phase === 'draining' && this.running.size === 0) break;
      try {
        const running = [...this.running.values()].map(({ task }) => ({ taskId: task.taskId, attempt: task.attempt }));
        const answer = await this.api.post<{ directive: Directive; lost: string[] }>(`/api/fleet/bots/${encodeURIComponent(this.options.botId)}/heartbeat`, { running });
        failures = 0;
        for (const taskId of answer.lost) this.drop(taskId, 'its lease was lost (the fleet took it back, it was cancelled, or it expired)');
        await this.obey(answer.directive);
      } catch (err) {
        if (this.stopped) break;
        if (await this.refused(err)) break;
        failures++;
        this.emit('notice', `heartbeat failed (${failures} in a row): ${describeError(err).message}`);
      }
    }
  }

  /** Does what the fleet said: nothing, drop what runs (restarted), stop taking work (isolated), or join again. */
  private async obey(directive: Directive): Promise<void> {
    if (this.phase === 'draining' || this.phase === 'stopped') return;
    switch (directive) {
      case 'run':
        if (this.phase === 'isolated') {
          this.phase = 'running';
          this.emit('notice', `bot ${this.options.botId} is back in the fleet: taking tests again`);
          this.slotFreed?.();
        }
        return;
      case 'restart':
        this.counts.restarts++;
        this.emit('notice', `the fleet restarted bot ${this.options.botId}: dropping ${this.running.size} running test(s), which went to other bots`);
        this.dropAll('the fleet restarted this bot');
        return;
      case 'stop':
        if (this.phase !== 'isolated') {
          this.emit('notice', `bot ${this.options.botId} is isolated: it takes no tests until an operator reinstates it (orchestra bots reinstate ${this.options.botId})`);
          this.dropAll('the fleet isolated this bot');
          this.phase = 'isolated';
        }
        return;
      case 'register':
        this.emit('notice', `the fleet has bot ${this.options.botId} offline: registering again`);
        await this.register();
        if (this.phase === 'starting') this.phase = 'running';
        return;
    }
  }

  private run(task: BotTask): void {
    const abort = new AbortController();
    const entry = { task, abort, done: Promise.resolve() };
    this.running.set(task.taskId, entry);
    entry.done = this.execute(task, abort.signal).finally(() => {
      this.running.delete(task.taskId);
      this.slotFreed?.();
    });
  }

  private async execute(task: BotTask, signal: AbortSignal): Promise<void> {
    const started = this.options.clock.now();
    const route = `/api/fleet/bots/${encodeURIComponent(this.options.botId)}/tasks/${encodeURIComponent(task.taskId)}`;
    const payload = testPayloadSchema.safeParse(task.payload);
    if (!payload.success) {
      const message = `task ${task.taskId} is not a test this bot can run: ${payload.error.issues[0]?.message ?? 'bad payload'}`;
      await this.report(`${route}/fail`, { attempt: task.attempt, durationMs: 0, error: { code: 'ORC_WORKER_NO_HANDLER', message, retryable: false } }, task);
      return;
    }
    const { workload, variables, trial, campaignId } = payload.data;
    let evaluation: Evaluation;
    try {
      evaluation = await this.options.evaluate({ workload, variables, trial, ...(campaignId ? { campaignId } : {}) }, signal);
    } catch (err) {
      if (signal.aborted) return; // taken back: the fleet runs it elsewhere, and this attempt's report would be refused
      await this.report(`${route}/fail`, { attempt: task.attempt, durationMs: this.options.clock.now() - started, error: { code: 'ORC_WORKER_HANDLER_FAILED', message: describeError(err).message, retryable: true } }, task);
      return;
    }
    if (signal.aborted) return;
    await this.report(`${route}/complete`, { attempt: task.attempt, durationMs: evaluation.durationMs, result: evaluation }, task);
  }

  /** Reports an attempt, trying again while the server cannot be reached and the lease may still hold. */
  private async report(route: string, body: { attempt: number } & Record<string, unknown>, task: BotTask): Promise<void> {
    const giveUpAt = this.options.clock.now() + (this.timings?.leaseMs ?? 30_000);
    for (let failures = 1; ; failures++) {
      try {
        const outcome = await this.api.post<{ status: string }>(route, body);
        if (route.endsWith('/complete') && outcome.status === 'COMPLETED') this.counts.completed++;
        else this.counts.failed++;
        return;
      } catch (err) {
        if (err instanceof ApiCallError && err.status === 409) {
          this.counts.dropped++;
          this.emit('notice', `report on ${task.taskId} (attempt ${task.attempt}) refused as late: ${err.message}`);
          return;
        }
        const retryable = !(err instanceof ApiCallError) || err.status === 429 || err.status >= 500;
        if (!retryable || this.phase === 'stopped' || this.options.clock.now() >= giveUpAt) {
          this.counts.dropped++;
          this.emit('notice', `report on ${task.taskId} (attempt ${task.attempt}) not delivered: ${describeError(err).message}; the fleet runs the test again when its lease expires`);
          return;
        }
        await this.pause(failures, `reporting ${task.taskId}`, err);
      }
    }
  }

  private drop(taskId: string, why: string): void {
    const entry = this.running.get(taskId);
    if (!entry || entry.abort.signal.aborted) return;
    this.counts.dropped++;
    entry.abort.abort(new OrchestraError('ORC_REGISTRY_LEASE_LOST', `${taskId}: ${why}`));
  }

  private dropAll(why: string): void {
    for (const taskId of [...this.running.keys()]) this.drop(taskId, why);
  }

  /** A token refused (revoked, or another process registered as this bot) ends the bot: it cannot work without one. */
  private async refused(err: unknown): Promise<boolean> {
    if (!(err instanceof ApiCallError) || (err.status !== 401 && err.status !== 403)) return false;
    if (this.phase === 'stopped') return true;
    this.fatal = new OrchestraError(
      'ORC_API_UNAUTHORIZED',
      `the server refused bot ${this.options.botId}'s token (${err.message}); was it revoked, or did another process register as ${this.options.botId}? Give each bot its own --id`,
    );
    this.phase = 'stopped';
    this.ended.abort();
    this.poll?.abort(this.fatal);
    this.slotFreed?.();
    this.dropAll('the bot lost its token');
    return true;
  }

  private async pause(failures: number, what: string, err: unknown): Promise<void> {
    const waitMs = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures - 1, 4));
    this.emit('notice', `${what} failed (${describeError(err).message}); trying again in ${waitMs} ms`);
    await this.options.clock.sleep(waitMs, this.ended.signal).catch(() => undefined);
  }

  private async leave(): Promise<void> {
    this.ended.abort();
    await this.api.post(`/api/fleet/bots/${encodeURIComponent(this.options.botId)}/deregister`).catch((err: unknown) => {
      this.emit('notice', `could not tell the fleet bot ${this.options.botId} left (${describeError(err).message}); it will be marked silent`);
    });
    this.phase = 'stopped';
    await this.loops?.catch(() => undefined);
  }
}
