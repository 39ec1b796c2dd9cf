import { setImmediate } from 'node:timers';
import { MAX_FINISHED_PER_EVENT, tasksFinishedEvent, type FinishedTask, type JsonValue, type Task, type TaskHandler } from '../protocol/index.js';
import type { TaskRegistry } from '../registry/index.js';
import { BaseAgent, type AgentDeps } from './base-agent.js';
import { TaskWorker } from './task-worker.js';
import type { WorkerOptions } from './worker-config.js';

export interface WorkerAgentDeps extends AgentDeps {
  registry: TaskRegistry;
  /** One handler per task kind this agent specialises in. */
  handlers: Record<string, TaskHandler>;
  worker?: WorkerOptions;
}

/**
 * A specialised worker: an agent that claims tasks of its kinds and runs them
 * through a `TaskWorker` (bounded concurrency, leases, cancellation), and
 * broadcasts the tasks it finished on `tasks.finished`, those of one turn of
 * the event loop in one event. Replicas share the
 * agent id; each has a worker id of its own, which the registry fences on.
 */
export class WorkerAgent extends BaseAgent {
  private current: TaskWorker;
  private generation = 0;
  /** Finished this turn, announced together at its end. */
  private unannounced: FinishedTask[] = [];
  private announcing = false;

  constructor(
    id: string,
    private readonly workerDeps: WorkerAgentDeps,
    role = 'worker',
  ) {
    super(id, role, workerDeps);
    this.current = this.makeWorker();
  }

  get worker(): TaskWorker {
    return this.current;
  }

  protected override async run(): Promise<void> {
    await this.current.start();
  }

  protected override async cleanup(): Promise<void> {
    await this.current.stop();
    await this.announceFinished();
  }

  /**
   * Stops the worker (its running tasks get no grace: they are given back)
   * and starts a fresh one with a new worker id, whose claims the old one's
   * late reports cannot touch.
   */
  protected async restartWorker(): Promise<void> {
    await this.current.stop({ graceMs: 0 });
    this.current = this.makeWorker();
    if (this.state === 'running') await this.current.start();
  }

  protected override details(): Record<string, JsonValue> {
    return { kinds: [...this.current.kinds], workerId: this.current.workerId, ...this.current.stats };
  }

  private makeWorker(): TaskWorker {
    const deps = this.workerDeps;
    const worker = new TaskWorker({
      registry: deps.registry,
      bus: deps.bus,
      clock: deps.clock,
      logger: this.logger,
      handlers: deps.handlers,
      workerId: `${this.id}:${this.instanceId.slice(0, 8)}${this.generation++ ? `:${this.generation - 1}` : ''}`,
      ...(deps.worker ? { config: deps.worker } : {}),
    });
    // The attempt started durationMs ago; it could have started once registered, or once its backoff was over.
    const waitedMs = (task: Task, durationMs: number) => Math.max(0, deps.clock.now() - durationMs - Math.max(task.createdAt, task.runAt));
    worker.on('task_completed', (task, { durationMs }) =>
      this.finished({ taskId: task.taskId, kind: task.kind, status: 'COMPLETED', attempt: task.attempt, durationMs, waitedMs: waitedMs(task, durationMs) }),
    );
    worker.on('task_failed', (task, { error, retrying, durationMs }) =>
      this.finished({ taskId: task.taskId, kind: task.kind, status: retrying ? 'PENDING' : 'FAILED', attempt: task.attempt, durationMs, waitedMs: waitedMs(task, durationMs), error: error.code }),
    );
    return worker;
  }

  private finished(task: FinishedTask): void {
    this.unannounced.push(task);
    if (this.announcing) return;
    this.announcing = true;
    setImmediate(() => void this.announceFinished());
  }

  private async announceFinished(): Promise<void> {
    this.announcing = false;
    const tasks = this.unannounced;
    this.unannounced = [];
    for (let i = 0; i < tasks.length; i += MAX_FINISHED_PER_EVENT) {
      // Advisory: whoever waits on a task also reads the registry, which holds the truth.
      await this.sendEvent(tasksFinishedEvent, { tasks: tasks.slice(i, i + MAX_FINISHED_PER_EVENT) }).catch(() => undefined);
    }
  }
}
