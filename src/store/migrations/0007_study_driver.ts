import type { Migration } from './migration.js';

/**
 * One study, one driver. Two processes that both plan generations of one
 * study write the same generation twice; the row here is a lease on driving
 * the study: its holder renews it, any other process stands by until it
 * expires, and every write of a generation checks the epoch it took the lease
 * with, in the same transaction, so a driver that lost the lease (paused past
 * its expiry while another took over) can no longer write.
 *
 * `pid` and `holder` say who drives, for the processes standing by.
 */
export const migration: Migration = {
  version: 7,
  name: 'study_driver',
  sql: `
CREATE TABLE study_drivers (
  study_id    text PRIMARY KEY,
  owner_id    text NOT NULL,
  holder      text NOT NULL,
  pid         integer NOT NULL,
  epoch       bigint NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);
`,
};
