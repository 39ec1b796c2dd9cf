import type { Migration } from './migration.js';

/**
 * The task registry. Times are passed in by the caller (the injected clock),
 * never taken from now(), so leases behave the same under a test clock.
 *
 * `seq` gives FIFO order within a priority; `pending_dependencies` counts the
 * dependencies not yet COMPLETED, so the claim index holds only tasks that can
 * run now and a claim never scans blocked or finished rows — it stays fast with
 * millions of finished tasks in the table. `has_dependents` lets completion skip
 * the dependents lookup for the common task nobody waits on.
 *
 * Every status change rewrites the row's index entries, so the table carries
 * only the indexes a hot path or a listing needs.
 *
 * `attempt` only ever grows: it is the fencing token of the current lease, and
 * a redrive raises `attempt_base` instead of resetting it, so a report from an
 * attempt before the redrive can never be mistaken for a current one.
 */
export const migration: Migration = {
  version: 1,
  name: 'tasks',
  sql: `
CREATE TABLE tasks (
  task_id              text PRIMARY KEY,
  seq                  bigint GENERATED ALWAYS AS IDENTITY,
  kind                 text NOT NULL,
  status               text NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
  payload              jsonb NOT NULL,
  priority             smallint NOT NULL CHECK (priority BETWEEN 1 AND 10),
  result               jsonb,
  error                jsonb,
  worker_id            text,
  attempt              integer NOT NULL DEFAULT 0,
  attempt_base         integer NOT NULL DEFAULT 0,
  max_attempts         integer NOT NULL CHECK (max_attempts >= 1),
  depends_on           text[] NOT NULL DEFAULT '{}',
  pending_dependencies integer NOT NULL DEFAULT 0,
  has_dependents       boolean NOT NULL DEFAULT false,
  idempotency_key      text,
  run_at               timestamptz NOT NULL,
  lease_expires_at     timestamptz,
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL
);

CREATE INDEX tasks_claimable ON tasks (kind, priority, seq)
  WHERE status = 'PENDING' AND pending_dependencies = 0;
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX tasks_finished ON tasks (updated_at) WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED');
CREATE INDEX tasks_by_seq ON tasks (seq);
-- Partial, so the many tasks registered without a key cost this index nothing.
CREATE UNIQUE INDEX tasks_idempotency_key ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- One row per (dependent, dependency): completion finds who waits on a task
-- through the primary key, without scanning arrays.
CREATE TABLE task_dependencies (
  depends_on text NOT NULL,
  task_id    text NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  PRIMARY KEY (depends_on, task_id)
);

-- Reports from attempts that no longer held the lease: kept for the record,
-- never applied to the task (invariant 2).
CREATE TABLE late_reports (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id     text NOT NULL,
  attempt     integer NOT NULL,
  worker_id   text,
  outcome     text NOT NULL CHECK (outcome IN ('completed', 'failed')),
  result      jsonb,
  error       jsonb,
  reported_at timestamptz NOT NULL
);
CREATE INDEX late_reports_by_task ON late_reports (task_id);

-- Messages and task bodies refused at a boundary, with the reason.
CREATE TABLE dead_letters (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source      text NOT NULL,
  code        text NOT NULL,
  reason      text NOT NULL,
  raw         text NOT NULL,
  received_at timestamptz NOT NULL
);
`,
};
