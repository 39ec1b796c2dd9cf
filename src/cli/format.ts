import type { Task } from '../protocol/index.js';

/** A plain text table, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

export function taskRow(task: Task): string[] {
  return [
    task.taskId,
    task.kind,
    task.status,
    String(task.priority),
    String(task.attempt),
    iso(task.updatedAt),
    task.error ? `${task.error.code}: ${task.error.message}`.slice(0, 80) : '',
  ];
}

export const TASK_HEADER = ['ID', 'KIND', 'STATUS', 'PRI', 'ATTEMPT', 'UPDATED', 'ERROR'];
