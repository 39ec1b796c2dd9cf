import { z } from 'zod';
import { describeError, getSnapshotRequest, MONITOR_ID, systemSnapshotEvent, type JsonValue, type Snapshot, type TimerHandle } from '../protocol/index.js';
import type { TaskRegistry } from '../registry/index.js';
import { BaseAgent, type AgentDeps } from './base-agent.js';

export const monitorConfig = z
  .object({
    /** How often the monitor sweeps expired leases and publishes a snapshot, on the injected clock. */
    intervalMs: z.number().int().positive().default(10_000),
  })
  .strict();

export type MonitorOptions = z.input<typeof monitorConfig>;

export interface SystemMonitorDeps extends AgentDeps {
  registry: TaskRegistry;
  monitor?: MonitorOptions;
}

/**
 * Watches the registry: every `intervalMs` it has the registry sweep tasks
 * stuck in RUNNING past their lease (retried, or failed with a timeout when
 * out of attempts), counts tasks by status and priority, and publishes the
 * snapshot on `system.snapshots`. Request `get_snapshot` takes one now.
 */
export class SystemMonitor extends BaseAgent {
  private readonly registry: TaskRegistry;
  private readonly intervalMs: number;
  private timer: TimerHandle | undefined;
  private last: Snapshot | undefined;
  private ticking: Promise<Snapshot> | undefined;

  constructor(deps: SystemMonitorDeps, id = MONITOR_ID) {
    super(id, 'monitor', deps);
    this.registry = deps.registry;
    this.intervalMs = monitorConfig.parse(deps.monitor ?? {}).intervalMs;
    this.onRequest(getSnapshotRequest, () => this.tick());
  }

  get lastSnapshot(): Snapshot | undefined {
    return this.last;
  }

  /** One round: sweep, count, publish. Rounds never overlap; a caller during one gets its snapshot. */
  tick(): Promise<Snapshot> {
    this.ticking ??= this.round().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  protected override async run(): Promise<void> {
    this.schedule();
  }

  protected override async cleanup(): Promise<void> {
    this.clock.clearTimeout(this.timer);
    await this.ticking?.catch(() => undefined);
  }

  protected override details(): Record<string, JsonValue> {
    return { intervalMs: this.intervalMs, lastSnapshotAt: this.last?.at ?? null };
  }

  private async round(): Promise<Snapshot> {
    const swept = await this.registry.sweep();
    const counts = await this.registry.counts();
    const timedOutAttempts = await this.registry.timedOutAttempts();
    const snapshot = { at: this.clock.now(), counts, swept, timedOutAttempts };
    this.last = snapshot;
    await this.sendEvent(systemSnapshotEvent, snapshot).catch((err: unknown) =>
      this.logger.warn({ err: describeError(err) }, 'snapshot not published'),
    );
    return snapshot;
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      if (this.state !== 'running') return;
      this.tick()
        .catch((err: unknown) => this.logger.error({ err: describeError(err) }, 'monitor round failed; trying again next interval'))
        .finally(() => {
          if (this.state === 'running') this.schedule();
        });
    }, this.intervalMs);
  }
}
