import fs from 'node:fs';
import type { JsonValue, Task } from '../../src/protocol/index.js';
import { until } from '../agents/helpers.js';

/** A task as a worker hands it to a handler: running, attempt 1 of 3, unless `fields` say otherwise. */
export const runningTask = (fields: Omit<Partial<Task>, 'payload'> & { payload: unknown }): Task => ({
  taskId: 't-1',
  status: 'RUNNING',
  kind: 'work',
  priority: 5,
  result: null,
  error: null,
  workerId: 'w',
  attempt: 1,
  dependsOn: [],
  createdAt: 0,
  updatedAt: 0,
  maxAttempts: 3,
  idempotencyKey: null,
  runAt: 0,
  leaseExpiresAt: null,
  ...fields,
  payload: fields.payload as JsonValue,
});

/** Running, as opposed to gone or a zombie waiting to be reaped. */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pid a command wrote to `file`, once it has. */
export const readPid = (file: string): Promise<number> => until(`${file} to hold a pid`, () => fs.existsSync(file) && Number(fs.readFileSync(file, 'utf8')));
