import type { JsonValue } from '../protocol/index.js';

/** `, estimated 93 % (88–97 %)`: a recommendation's success probability as its model estimates it. */
export function successEstimate(best: { successProbability?: { p: number; low: number; high: number } | undefined }): string {
  const e = best.successProbability;
  const pct = (x: number) => (x * 100).toFixed(0);
  return e ? `, estimated ${pct(e.p)} % (${pct(e.low)}–${pct(e.high)} %)` : '';
}

/** A plain text table, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

/** A task's row from its JSON form (`taskToJson`, as the API answers it). */
export function taskJsonRow(task: Record<string, JsonValue>): string[] {
  const error = task['error'] as { code?: string; message?: string } | null;
  return [
    String(task['taskId']),
    String(task['kind']),
    String(task['status']),
    String(task['priority']),
    String(task['attempt']),
    String(task['updatedAt']),
    error ? `${error.code}: ${error.message}`.slice(0, 80) : '',
  ];
}

export const TASK_HEADER = ['ID', 'KIND', 'STATUS', 'PRI', 'ATTEMPT', 'UPDATED', 'ERROR'];

/**
 * A number as a person reads it: integers whole (`1048576`, never rounded
 * to a precision), other values to four significant digits without dropping
 * digits before the point (`12346`, `0.2346`), no exponent unless the value
 * is tiny or huge. `--json` prints values unrounded; this is for text only.
 */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e15 || magnitude < 1e-6) return String(Number(value.toPrecision(4)));
  const wholeDigits = magnitude >= 1 ? Math.floor(Math.log10(magnitude)) + 1 : 0;
  const text = magnitude >= 1 ? value.toFixed(Math.max(0, 4 - wholeDigits)) : value.toPrecision(4);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}
