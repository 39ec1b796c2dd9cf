import {
  OrchestraError,
  parseJson,
  taskToJson,
  TASK_STATUSES,
  validateNewTask,
  ValidationError,
  type JsonValue,
  type NewTask,
  type TaskStatus,
  type DeadLetter,
} from '../../protocol/index.js';
import type { Registration, TaskCounts } from '../../registry/index.js';
import { StoreDeadLetters, type LateReportRow } from '../../store/index.js';
import { openReader, openRuntime, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { badArgument } from '../errors.js';
import type { OrchestraConfig } from '../config.js';
import { iso, table, taskJsonRow, TASK_HEADER } from '../format.js';
import { readStoreOrHolder } from './inspect.js';
import { readLines } from '../lines.js';

/** Commands that change tasks connect the bus to wake workers and reach running ones; readers (named, for a refusal) need only the store. */
async function withRuntime<T>(globals: GlobalFlags, io: CliIo, fn: (rt: Runtime) => Promise<T>, { bus = true, reader }: { bus?: boolean; reader?: string } = {}): Promise<T> {
  const config = loadConfig(globals, io);
  const runtime = reader ? await openReader(config, reader) : bus ? await openWithWakeUps(config, io) : await openRuntime(config, { bus: false });
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

/**
 * A change to tasks is made in the store; the bus only wakes workers (and
 * tells a running one of a cancel sooner). With Redis unreachable the change
 * is made without it, saying so: workers find it when they next poll.
 */
async function openWithWakeUps(config: OrchestraConfig, io: CliIo): Promise<Runtime> {
  try {
    return await openRuntime(config, { bus: true });
  } catch (err) {
    if (!(err instanceof OrchestraError) || err.code !== 'ORC_BUS_UNREACHABLE') throw err;
    io.stderr.write(`orchestra: warning: ${err.message}; going on without the bus: workers are not woken and see the change when they next poll\n`);
    return openRuntime(config, { bus: false });
  }
}

export interface AddOptions {
  kind?: string;
  payload?: string;
  priority?: number;
  dependsOn?: string[];
  idempotencyKey?: string;
  maxAttempts?: number;
  json?: boolean;
}

export async function tasksAdd(globals: GlobalFlags, options: AddOptions, io: CliIo): Promise<void> {
  const inputs = options.kind ? [taskFromFlags(options)] : await tasksFromStdin(io);
  if (inputs.length === 0) throw badArgument('no tasks given: use --kind, or pipe one JSON task per line on standard input');
  const registrations = await withRuntime(globals, io, (rt) => rt.registry.registerMany(inputs));
  if (options.json) return printJson(io, registrations.map((r) => ({ ...taskToJson(r.task), created: r.created })));
  print(io, registrations.map(describeRegistration).join('\n'));
}

function describeRegistration(r: Registration): string {
  return r.created ? r.task.taskId : `${r.task.taskId} (already registered with this idempotency key)`;
}

function taskFromFlags(options: AddOptions): NewTask {
  const task: Record<string, unknown> = { kind: options.kind };
  if (options.payload !== undefined) task.payload = parseJson('--payload', options.payload);
  if (options.priority !== undefined) task.priority = options.priority;
  if (options.dependsOn?.length) task.dependsOn = options.dependsOn;
  if (options.idempotencyKey !== undefined) task.idempotencyKey = options.idempotencyKey;
  if (options.maxAttempts !== undefined) task.maxAttempts = options.maxAttempts;
  validateNewTask(task);
  return task as NewTask;
}

/** One task per line; a bad line is named by its number and nothing is registered. */
async function tasksFromStdin(io: CliIo): Promise<NewTask[]> {
  if (io.stdin.isTTY) throw badArgument('give --kind, or pipe one JSON task per line on standard input');
  const tasks: NewTask[] = [];
  let index = -1;
  for await (const line of readLines(io.stdin as AsyncIterable<Uint8Array | string>)) {
    index++;
    if (line.trim() === '') continue;
    try {
      const value = parseJson('task', line);
      validateNewTask(value);
      tasks.push(value as NewTask);
    } catch (err) {
      if (err instanceof ValidationError) throw new ValidationError(`task on line ${index + 1}`, err.issues);
      throw err;
    }
  }
  return tasks;
}

export interface ListOptions {
  status?: string[];
  kind?: string[];
  limit?: number;
  offset?: number;
  json?: boolean;
}

export async function tasksList(globals: GlobalFlags, options: ListOptions, io: CliIo): Promise<void> {
  const status = (options.status ?? []).map((s) => s.toUpperCase());
  const unknown = status.find((s) => !TASK_STATUSES.includes(s as TaskStatus));
  if (unknown) throw badArgument(`--status ${unknown} is not one of ${TASK_STATUSES.join(', ')}`);
  const limit = options.limit ?? 50;
  const offset = options.offset ?? 0;
  const tasks = await readStoreOrHolder(
    globals,
    io,
    'tasks list',
    async (rt) => (await rt.registry.list({ status: status as TaskStatus[], kind: options.kind, limit, offset })).map(taskToJson),
    async (api) => {
      const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
      if (status.length) query.set('status', status.join(','));
      if (options.kind?.length) query.set('kind', options.kind.join(','));
      return (await api.get<{ tasks: Record<string, JsonValue>[] }>(`/api/tasks?${query}`)).tasks;
    },
  );
  if (options.json) return printJson(io, tasks);
  print(io, tasks.length ? table(TASK_HEADER, tasks.map(taskJsonRow)) : 'no tasks');
}

export async function tasksShow(globals: GlobalFlags, taskId: string, options: { json?: boolean }, io: CliIo): Promise<void> {
  const { task, late } = await readStoreOrHolder(
    globals,
    io,
    'tasks show',
    async (rt) => ({ task: taskToJson(await rt.registry.get(taskId)), late: await rt.registry.lateReports(taskId) }),
    async (api) => {
      const read = await api.get<{ task: Record<string, JsonValue>; lateReports: LateReportRow[] }>(`/api/tasks/${encodeURIComponent(taskId)}`);
      return { task: read.task, late: read.lateReports };
    },
  );
  const lateReports = late.map((r) => ({
    attempt: r.attempt,
    workerId: r.worker_id,
    outcome: r.outcome,
    result: r.result,
    error: r.error,
    reportedAt: iso(new Date(r.reported_at).getTime()),
  }));
  if (options.json) return printJson(io, { ...task, lateReports });
  const lines = Object.entries(task).map(([k, v]) => `${k.padEnd(16)}${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (lateReports.length) lines.push(`lateReports     ${JSON.stringify(lateReports)}`);
  print(io, lines.join('\n'));
}

export async function tasksStats(globals: GlobalFlags, options: { json?: boolean }, io: CliIo): Promise<void> {
  const counts = await readStoreOrHolder(globals, io, 'tasks stats', (rt) => rt.registry.counts(), (api) => api.get<TaskCounts>('/api/tasks/stats'));
  if (options.json) return printJson(io, counts);
  const priorities = Object.keys(counts.byPriority).map(Number);
  const rows = TASK_STATUSES.map((status) => [
    status,
    String(counts.byStatus[status]),
    ...priorities.map((p) => String(counts.cells.find((c) => c.status === status && c.priority === p)?.count ?? 0)),
  ]);
  rows.push(['TOTAL', String(counts.total), ...priorities.map((p) => String(counts.byPriority[p] ?? 0))]);
  print(io, table(['STATUS', 'ALL', ...priorities.map((p) => `P${p}`)], rows));
}

export async function tasksRetry(globals: GlobalFlags, taskId: string, options: { json?: boolean }, io: CliIo): Promise<void> {
  const tasks = await withRuntime(globals, io, (rt) => rt.registry.retry(taskId));
  if (options.json) return printJson(io, tasks.map(taskToJson));
  print(io, tasks.map((t) => `${t.taskId} ${t.status}${t.taskId === taskId ? '' : ' (dependent)'}`).join('\n'));
}

export async function tasksCancel(globals: GlobalFlags, taskId: string, options: { reason?: string; json?: boolean }, io: CliIo): Promise<void> {
  const task = await withRuntime(globals, io, (rt) => rt.registry.cancel(taskId, options.reason));
  if (options.json) return printJson(io, taskToJson(task));
  print(io, `${task.taskId} ${task.status}`);
}

export async function tasksPrune(globals: GlobalFlags, options: { olderThanHours?: number; json?: boolean }, io: CliIo): Promise<void> {
  const pruned = await withRuntime(globals, io, (rt) =>
    rt.registry.prune(options.olderThanHours === undefined ? undefined : options.olderThanHours * 3_600_000),
    { bus: false },
  );
  if (options.json) return printJson(io, { pruned });
  print(io, `pruned ${pruned} finished task${pruned === 1 ? '' : 's'}`);
}

export async function deadLettersCommand(globals: GlobalFlags, options: { limit?: number; json?: boolean }, io: CliIo): Promise<void> {
  const limit = options.limit ?? 50;
  const letters = await readStoreOrHolder(
    globals,
    io,
    'dead-letters',
    (rt) => new StoreDeadLetters(rt.db).list(limit),
    async (api) => (await api.get<{ deadLetters: DeadLetter[] }>(`/api/dead-letters?limit=${limit}`)).deadLetters,
  );
  if (options.json) return printJson(io, letters.map((l) => ({ ...l, receivedAt: iso(l.receivedAt) })));
  if (letters.length === 0) return print(io, 'no dead letters');
  print(io, table(['RECEIVED', 'SOURCE', 'CODE', 'REASON'], letters.map((l) => [iso(l.receivedAt), l.source, l.code, l.reason.slice(0, 100)])));
}
