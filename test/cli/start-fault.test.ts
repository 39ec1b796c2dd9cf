import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import pg from 'pg';
import { DATABASE_URL, uniqueName } from '../support/env.js';
import { dropSchema, exitWithin, spawnCli, tempDir, waitFor } from './support.js';

describe('orchestra start when its study fails under it', { timeout: 180_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
    fs.mkdirSync(path.join(cwd, 'docs'));
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(cwd, 'docs', `f${i}.txt`), `line ${i} of a small document\n`.repeat(100));
    fs.writeFileSync(path.join(cwd, 'fast.json'), JSON.stringify({ experiment: { population: 4, testsPerCombination: 1 }, progress: { intervalMs: 100 } }));
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('exits 1 with the error when the database refuses the next generation, printing no summary', async () => {
    const schema = uniqueName('cli_fault');
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    const running = spawnCli(['start', '--config', 'fast.json', '--folder', 'docs'], { cwd, env: { DATABASE_URL, ORCHESTRA_SCHEMA: schema } });
    try {
      await waitFor('the study to run', () => /generation \d+ · tests \d+\/\d+/.test(running.stderr()));
      // A real refusal from the database, on the study's own writes only: its next generation cannot be stored.
      await client.query(`CREATE FUNCTION ${schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the disk is on fire'; END $$`);
      await client.query(`CREATE TRIGGER refuse BEFORE INSERT ON ${schema}.generations FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse()`);
      expect(await exitWithin(running)).toBe(1);
      expect(running.stderr()).toMatch(/orchestra: study compression stopped on an error: .*the disk is on fire.*\[ORC_AGENT_STUDY_FAILED\]\n$/);
      expect(running.stdout()).toBe('');
    } finally {
      running.child.kill('SIGKILL');
      await client.end();
      await dropSchema(schema);
    }
  });
});
