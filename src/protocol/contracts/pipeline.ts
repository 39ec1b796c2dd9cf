import { z } from 'zod';
import { defineEvent, defineRequest } from '../contract.js';
import { TASK_STATUSES } from '../task.js';

/** The general pipeline runtime: registering tasks, watching the registry, announcing finished tasks. */

export const DISPATCHER_ID = 'dispatcher';
export const MONITOR_ID = 'monitor';
export const SNAPSHOT_TOPIC = 'system.snapshots';
/** The registry is no agent; its notices carry this sender. */
export const REGISTRY_AGENT_ID = 'registry';
/** The topic on which workers of `kind` hear that tasks became claimable (`task_available`, after the commit). */
export const taskTopic = (kind: string) => `tasks.${kind}`;
/** The topic on which workers hear that a task they may hold was cancelled or given to another kind. */
export const CANCELLED_TOPIC = 'tasks.cancelled';
/** Where a worker agent announces the tasks it finished, for anyone waiting on one. */
export const TASK_FINISHED_TOPIC = 'tasks.finished';

const taskStatus = z.enum(TASK_STATUSES);

export const taskCountsSchema = z.object({
  total: z.number().int().nonnegative(),
  byStatus: z.record(taskStatus, z.number().int().nonnegative()),
  byPriority: z.record(z.number(), z.number().int().nonnegative()),
  /** Every non-empty (status, priority) pair. */
  cells: z.array(z.object({ status: taskStatus, priority: z.number().int(), count: z.number().int().nonnegative() })),
});

export const snapshotSchema = z.object({
  at: z.number().int().nonnegative(),
  counts: taskCountsSchema,
  /** What this round's sweep did to tasks stuck in RUNNING past their lease. */
  swept: z.object({ requeued: z.array(z.string()), failed: z.array(z.string()) }),
  /** Attempts that failed for running past their run timeout (or a command's), over the tasks stored. */
  timedOutAttempts: z.number().int().nonnegative(),
});
export type Snapshot = z.output<typeof snapshotSchema>;

/** All registered or none; each task is checked by the registry as a `NewTask`. */
export const dispatchRequest = defineRequest({
  name: 'dispatch',
  to: DISPATCHER_ID,
  data: z.object({ tasks: z.array(z.unknown()).min(1).max(1000) }).strict(),
  reply: z.object({ tasks: z.array(z.object({ taskId: z.string(), kind: z.string(), status: taskStatus, created: z.boolean() })) }),
});

export const getSnapshotRequest = defineRequest({ name: 'get_snapshot', to: MONITOR_ID, data: z.object({}).strict(), reply: snapshotSchema });

export const systemSnapshotEvent = defineEvent({ name: 'system_snapshot', topic: SNAPSHOT_TOPIC, data: snapshotSchema });

/** One attempt a worker finished. */
export const finishedTaskSchema = z.object({
  taskId: z.string(),
  kind: z.string(),
  /** `PENDING` when the attempt failed and the task will be tried again. */
  status: z.enum(['COMPLETED', 'PENDING', 'FAILED']),
  attempt: z.number().int(),
  durationMs: z.number().nonnegative(),
  /** From when the attempt could run (registered, or its retry's backoff over) to when it started. */
  waitedMs: z.number().nonnegative().optional(),
  /** The failure's code. */
  error: z.string().optional(),
});
export type FinishedTask = z.output<typeof finishedTaskSchema>;

/** The most attempts one `tasks_finished` event carries. */
export const MAX_FINISHED_PER_EVENT = 500;

/**
 * The attempts a worker finished since its last such event, oldest first: one
 * event per turn of its event loop rather than one per task, so listeners (a
 * dashboard, metrics, the bot agent) do not cost the workers throughput.
 */
export const tasksFinishedEvent = defineEvent({
  name: 'tasks_finished',
  topic: TASK_FINISHED_TOPIC,
  data: z.object({ tasks: z.array(finishedTaskSchema).min(1).max(MAX_FINISHED_PER_EVENT) }),
});

/** From the registry: the running attempt of a task must stop; its report will be refused. */
export const taskCancelledEvent = defineEvent({
  name: 'task_cancelled',
  topic: CANCELLED_TOPIC,
  data: z.object({ taskId: z.string(), attempt: z.number().int(), workerId: z.string().nullable(), reason: z.string().optional() }),
});
