import { DISPATCHER_ID, dispatchRequest, type JsonValue } from '../protocol/index.js';
import type { Registration, TaskRegistry } from '../registry/index.js';
import { BaseAgent, type AgentDeps } from './base-agent.js';

export interface TaskDispatcherDeps extends AgentDeps {
  registry: TaskRegistry;
}

/**
 * Registers tasks for anyone on the bus. The registry commits the tasks
 * first and only then notifies the topic of each kind (invariant 1): a
 * worker that hears of a task always finds it, and a lost notification only
 * delays it until the worker's next poll.
 *
 * Request `dispatch` `{tasks: NewTask[]}` → `{tasks: [{taskId, kind, status, created}]}`,
 * all registered or none.
 */
export class TaskDispatcher extends BaseAgent {
  private readonly registry: TaskRegistry;
  private dispatched = 0;

  constructor(deps: TaskDispatcherDeps, id = DISPATCHER_ID) {
    super(id, 'dispatcher', deps);
    this.registry = deps.registry;
    this.onRequest(dispatchRequest, async ({ tasks }) => ({ tasks: (await this.dispatch(tasks)).map(summary) }));
  }

  /** Registers `tasks` atomically (they may depend on each other), then wakes their workers. */
  async dispatch(tasks: readonly unknown[]): Promise<Registration[]> {
    const registrations = await this.registry.registerMany(tasks);
    this.dispatched += registrations.filter((r) => r.created).length;
    return registrations;
  }

  protected override details(): Record<string, JsonValue> {
    return { dispatched: this.dispatched };
  }
}

const summary = ({ task, created }: Registration) => ({ taskId: task.taskId, kind: task.kind, status: task.status, created });
