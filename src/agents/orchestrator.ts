import {
  agentStatusEvent,
  botIsolatedEvent,
  describeError,
  environmentChangeDetectedEvent,
  getSystemStatusRequest,
  listAgentsRequest,
  ORCHESTRATOR_ID,
  type AgentStatus,
  type JsonValue,
  type ListedAgent,
  type Message,
} from '../protocol/index.js';
import { forgetAgents, listAgents, listAlerts, recordAgent, recordAlert, type Db } from '../store/index.js';
import type { TaskRegistry } from '../registry/index.js';
import { BaseAgent, type AgentDeps } from './base-agent.js';

/** An instance not heard from for this many heartbeats is listed as silent. */
const SILENT_AFTER_HEARTBEATS = 3;
/** Alerts kept for `get_system_status`. */
const MAX_ALERTS = 100;
/** Instances not heard from for a day are dropped from the directory. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

export interface OrchestratorDeps extends AgentDeps {
  db: Db;
  registry: TaskRegistry;
}

/**
 * Starts and stops the agents of its process, and keeps the directory of
 * every agent instance on the bus (from the presence topic, in the store so
 * it survives a restart), and reacts to alerts (`bot_isolated`,
 * `environment_change_detected`): it logs them and keeps the latest for
 * `get_system_status`. Requests: `list_agents`, `get_system_status`.
 */
export class OrchestratorAgent extends BaseAgent {
  private readonly db: Db;
  private readonly registry: TaskRegistry;
  private readonly children: BaseAgent[] = [];

  constructor(deps: OrchestratorDeps, id = ORCHESTRATOR_ID) {
    super(id, 'orchestrator', deps);
    this.db = deps.db;
    this.registry = deps.registry;
    this.onEvent(agentStatusEvent, (status) => this.record(status));
    // Alerts: logged where an operator looks, kept for get_system_status. The agents that raised them act on them.
    this.onEvent(botIsolatedEvent, (data, message) => this.alert(data, message));
    this.onEvent(environmentChangeDetectedEvent, (data, message) => this.alert(data, message));
    this.onRequest(listAgentsRequest, async () => ({ agents: await this.listAgents() }));
    this.onRequest(getSystemStatusRequest, async () => {
      const [agents, counts] = await Promise.all([this.listAgents(), this.registry.counts()]);
      // The latest alerts, newest last: kept in the store, so a restarted orchestrator still shows them.
      return { agents, tasks: counts, alerts: await listAlerts(this.db, MAX_ALERTS) };
    });
  }

  /** Agents this orchestrator starts after itself and stops before itself, in order. */
  manage(...agents: BaseAgent[]): this {
    this.children.push(...agents);
    return this;
  }

  override async start(): Promise<void> {
    await super.start();
    if (this.presence) await this.record(this.status());
    for (const child of this.children) await child.start();
  }

  /**
   * Stops the managed agents in reverse order, then itself. Each one's final
   * state is recorded here, not left to its announcement: on Redis that may
   * still be unread when this orchestrator stops listening, and the agent
   * would be listed as silent instead of stopped.
   */
  override async stop(): Promise<void> {
    for (const child of [...this.children].reverse()) {
      await child.stop().catch((err: unknown) => this.logger.error({ agent: child.id, err: describeError(err) }, 'agent did not stop cleanly'));
      if (this.presence && child.presence) {
        await this.record(child.status()).catch((err: unknown) => this.logger.warn({ agent: child.id, err: describeError(err) }, 'final state not recorded'));
      }
    }
    await super.stop();
    if (this.presence) await this.record(this.status()).catch(() => undefined);
  }

  async listAgents(): Promise<ListedAgent[]> {
    const now = this.clock.now();
    await forgetAgents(this.db, now - FORGET_AFTER_MS);
    const silentBefore = now - SILENT_AFTER_HEARTBEATS * this.config.heartbeatMs;
    const rows = await listAgents(this.db);
    // This instance's own row is refreshed on each list: it does not hear its own announcements.
    return rows.map((row) => {
      if (row.instanceId === this.instanceId) return { ...row, state: this.state, lastSeenAt: now };
      const quiet = (row.state === 'running' || row.state === 'starting') && row.lastSeenAt < silentBefore;
      return quiet ? { ...row, state: 'silent' } : row;
    });
  }

  protected override details(): Record<string, JsonValue> {
    return { manages: this.children.map((c) => c.id) };
  }

  private async alert(data: object, message: Message): Promise<void> {
    this.logger.warn({ alert: message.action, from: message.from, ...data }, 'alert');
    await recordAlert(this.db, { action: message.action, from: message.from, at: message.timestamp, data: message.data }, MAX_ALERTS);
  }

  private async record(status: AgentStatus): Promise<void> {
    await recordAgent(this.db, {
      agentId: status.agentId,
      instanceId: status.instanceId,
      role: status.role,
      state: status.state,
      startedAt: status.startedAt,
      lastSeenAt: status.at,
      details: status.details,
    });
  }
}
