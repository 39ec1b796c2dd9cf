import { z } from 'zod';
import { jsonValue, encodedSize, findUnstorableText, unstorableText, type JsonValue } from './json.js';
import { parseWith, ValidationError } from './validation.js';

export const TASK_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const FINISHED_STATUSES: readonly TaskStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export const MIN_PRIORITY = 1; // most urgent
export const MAX_PRIORITY = 10;
export const DEFAULT_PRIORITY = 5;
/** 1 MiB, the same bound as a message. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** A week: what an `integer` column holds comfortably, and longer than any attempt should take. */
export const MAX_TASK_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

export const taskKindSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9_.:-]*$/, 'must be lower-case letters, digits and _ . : - starting with a letter or digit');

export const taskIdSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'must hold only letters, digits and _ . : -');

export const prioritySchema = z.number().int().min(MIN_PRIORITY).max(MAX_PRIORITY);

export const taskErrorSchema = z
  .object({
    code: z.string(),
    message: z.string(),
    retryable: z.boolean(),
    /** The attempt that produced the error. */
    attempt: z.number().int().nonnegative(),
    /** Extra facts: the failing dependency, a command's stderr. */
    details: z.record(z.string(), jsonValue).optional(),
  })
  .strict();
export type TaskError = z.output<typeof taskErrorSchema>;

export interface Task {
  taskId: string;
  status: TaskStatus;
  kind: string;
  payload: JsonValue;
  priority: number;
  result: JsonValue | null;
  error: TaskError | null;
  workerId: string | null;
  /** Attempts started so far; the current attempt's number is its fencing token. */
  attempt: number;
  dependsOn: string[];
  createdAt: number;
  updatedAt: number;
  /** Attempts allowed before the task fails for good (counted since the last redrive). */
  maxAttempts: number;
  idempotencyKey: string | null;
  /** Not claimable before this time (a retry's backoff). */
  runAt: number;
  /** When the current attempt's lease runs out; null unless RUNNING. */
  leaseExpiresAt: number | null;
  /** Set by a listing that left out a result too large to list (`result` is null there): reading the task alone gives it. */
  resultOmitted?: true;
  /** How long one attempt may run; null or absent: the worker's setting for the kind. */
  timeoutMs?: number | null;
}

/** What a caller gives to register a task. Everything but `kind` has a default. */
export const newTaskSchema = z
  .object({
    kind: taskKindSchema,
    payload: jsonValue.default({}),
    priority: prioritySchema.default(DEFAULT_PRIORITY),
    dependsOn: z.array(taskIdSchema).max(1000).default([]),
    idempotencyKey: z.string().min(1).max(200).optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    /** A caller-chosen id, so tasks of one bulk registration can depend on each other. */
    taskId: taskIdSchema.optional(),
    /** Not before this epoch-ms time. */
    runAt: z.number().int().nonnegative().optional(),
    /** How long one attempt may run before it fails with a timeout; default: the worker's setting for the kind. */
    timeoutMs: z.number().int().positive().max(MAX_TASK_TIMEOUT_MS).optional(),
  })
  .strict();

export type NewTask = z.input<typeof newTaskSchema>;
export type ValidNewTask = z.output<typeof newTaskSchema>;

export function validateNewTask(input: unknown, maxPayloadBytes = MAX_PAYLOAD_BYTES): ValidNewTask {
  const task = parseWith(newTaskSchema, 'task', input);
  if (encodedSize(task.payload) > maxPayloadBytes) {
    throw new ValidationError('task', [
      { path: 'payload', code: 'ORC_PROTOCOL_TOO_LARGE', message: `encoded payload is larger than ${maxPayloadBytes} bytes` },
    ]);
  }
  const unstorable = findUnstorableText(task.payload);
  if (unstorable) {
    throw new ValidationError('task', [
      { path: ['payload', ...unstorable.path].join('.'), code: 'ORC_PROTOCOL_UNSTORABLE_TEXT', message: unstorable.message },
    ]);
  }
  const keyProblem = task.idempotencyKey === undefined ? undefined : unstorableText(task.idempotencyKey);
  if (keyProblem) {
    throw new ValidationError('task', [{ path: 'idempotencyKey', code: 'ORC_PROTOCOL_UNSTORABLE_TEXT', message: keyProblem }]);
  }
  if (new Set(task.dependsOn).size !== task.dependsOn.length) {
    throw new ValidationError('task', [
      { path: 'dependsOn', code: 'ORC_PROTOCOL_INVALID_VALUE', message: 'lists the same task id twice' },
    ]);
  }
  return task;
}

/** A task rendered as JSON: timestamps as ISO-8601 strings for people and scripts. */
export function taskToJson(task: Task): Record<string, JsonValue> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    taskId: task.taskId,
    status: task.status,
    kind: task.kind,
    payload: task.payload,
    priority: task.priority,
    result: task.result,
    error: task.error as JsonValue,
    workerId: task.workerId,
    attempt: task.attempt,
    dependsOn: task.dependsOn,
    createdAt: iso(task.createdAt),
    updatedAt: iso(task.updatedAt),
    maxAttempts: task.maxAttempts,
    idempotencyKey: task.idempotencyKey,
    runAt: iso(task.runAt),
    leaseExpiresAt: iso(task.leaseExpiresAt),
    ...(task.resultOmitted ? { resultOmitted: true } : {}),
    timeoutMs: task.timeoutMs ?? null,
  };
}
