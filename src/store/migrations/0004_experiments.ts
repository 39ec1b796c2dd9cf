import type { Migration } from './migration.js';

/**
 * What the experiment agents know, kept where a restarted process finds it
 * (invariant 4): studies and their generations, every combination and every
 * test result, the fleet of bots, campaigns, and the analysis reports.
 *
 * A test result is keyed by the task that produced it, so collecting a
 * generation twice (after a crash, say) never counts a result twice.
 */
export const migration: Migration = {
  version: 4,
  name: 'experiments',
  sql: `
CREATE TABLE studies (
  study_id     text PRIMARY KEY,
  space        jsonb NOT NULL,
  settings     jsonb NOT NULL,
  state        text NOT NULL,
  generation   integer NOT NULL DEFAULT 0,
  trials       integer NOT NULL DEFAULT 0,
  explore_from integer,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);

CREATE TABLE combinations (
  study_id         text NOT NULL REFERENCES studies ON DELETE CASCADE,
  key              text NOT NULL,
  variables        jsonb NOT NULL,
  first_generation integer NOT NULL,
  classification   text,
  score            double precision,
  PRIMARY KEY (study_id, key)
);

CREATE TABLE generations (
  study_id   text NOT NULL REFERENCES studies ON DELETE CASCADE,
  generation integer NOT NULL,
  state      text NOT NULL,
  tests      jsonb NOT NULL,
  stats      jsonb,
  created_at timestamptz NOT NULL,
  scored_at  timestamptz,
  PRIMARY KEY (study_id, generation)
);

CREATE TABLE test_results (
  task_id    text PRIMARY KEY,
  study_id   text NOT NULL REFERENCES studies ON DELETE CASCADE,
  key        text NOT NULL,
  generation integer NOT NULL,
  trial      integer NOT NULL,
  success    boolean NOT NULL,
  value      double precision,
  metrics    jsonb NOT NULL DEFAULT '{}'::jsonb,
  reason     text,
  bot_id     text,
  at         timestamptz NOT NULL
);
CREATE INDEX test_results_study_trial ON test_results (study_id, trial);

CREATE TABLE score_history (
  study_id   text NOT NULL REFERENCES studies ON DELETE CASCADE,
  key        text NOT NULL,
  generation integer NOT NULL,
  at         timestamptz NOT NULL,
  score      double precision NOT NULL,
  PRIMARY KEY (study_id, key, generation)
);

CREATE TABLE bots (
  bot_id               text PRIMARY KEY,
  device_id            text NOT NULL,
  role                 text NOT NULL,
  group_name           text NOT NULL,
  state                text NOT NULL,
  success_rate         double precision NOT NULL,
  restarts             integer NOT NULL DEFAULT 0,
  recent_restarts      jsonb NOT NULL DEFAULT '[]'::jsonb,
  completed            integer NOT NULL DEFAULT 0,
  failed               integer NOT NULL DEFAULT 0,
  last_heartbeat_at    timestamptz NOT NULL,
  registered_at        timestamptz NOT NULL,
  isolated_at          timestamptz,
  reason               text
);

CREATE TABLE campaigns (
  campaign_id text PRIMARY KEY,
  study_id    text NOT NULL,
  key         text NOT NULL,
  variables   jsonb NOT NULL,
  runs        integer NOT NULL,
  registered  integer NOT NULL DEFAULT 0,
  succeeded   integer NOT NULL DEFAULT 0,
  failed      integer NOT NULL DEFAULT 0,
  value_sum   double precision NOT NULL DEFAULT 0,
  state       text NOT NULL,
  per_minute  double precision,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

CREATE TABLE analysis_reports (
  study_id   text NOT NULL REFERENCES studies ON DELETE CASCADE,
  generation integer NOT NULL,
  report     jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (study_id, generation)
);
`,
};
