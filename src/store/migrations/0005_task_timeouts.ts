import type { Migration } from './migration.js';

/**
 * Run timeouts. A task may set how long one attempt may run (`timeout_ms`;
 * null: the worker's setting for its kind), and each task counts its attempts
 * that failed for running too long, so the monitor can say how many there
 * were without a table of every attempt.
 */
export const migration: Migration = {
  version: 5,
  name: 'task_timeouts',
  sql: `
ALTER TABLE tasks ADD COLUMN timeout_ms integer;
ALTER TABLE tasks ADD COLUMN timed_out_attempts integer NOT NULL DEFAULT 0;
`,
};
