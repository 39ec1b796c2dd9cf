import type { Migration } from './migration.js';

/**
 * A combination's key is the JSON of all its variables, so a space of a few
 * hundred floats makes keys of kilobytes, and a btree refuses index rows that
 * large (54000): a study of such a space could not record a single
 * combination. The keys stay as they are, but the primary keys index their
 * md5 instead, a fixed 32 characters whatever the size of the space.
 */
export const migration: Migration = {
  version: 6,
  name: 'large_spaces',
  sql: `
ALTER TABLE combinations ADD COLUMN key_hash text GENERATED ALWAYS AS (md5(key)) STORED;
ALTER TABLE combinations DROP CONSTRAINT combinations_pkey;
ALTER TABLE combinations ADD PRIMARY KEY (study_id, key_hash);

ALTER TABLE score_history ADD COLUMN key_hash text GENERATED ALWAYS AS (md5(key)) STORED;
ALTER TABLE score_history DROP CONSTRAINT score_history_pkey;
ALTER TABLE score_history ADD PRIMARY KEY (study_id, key_hash, generation);
`,
};
