import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  createStudy,
  insertGeneration,
  listCombinations,
  migrate,
  openPglite,
  openPostgres,
  recordScores,
  scoreHistory,
  type Db,
} from '../../src/store/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';

const NOW = Date.UTC(2026, 0, 1);

/** A combination of `n` floats keyed as the variable agent keys it: the JSON of every name and value. */
function combination(n: number, shift: number): { key: string; variables: Record<string, number> } {
  const variables: Record<string, number> = {};
  for (let i = 0; i < n; i++) variables[`x${String(i).padStart(4, '0')}`] = ((i * 7919 + shift) % 1000) / 1000 + 1e-7 * i;
  return { key: JSON.stringify(Object.entries(variables)), variables };
}

function largeSpaces(name: string, open: () => Promise<Db>, close: (db: Db) => Promise<void>) {
  describe(`combinations of a 1,000-variable space on ${name}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await open();
      await migrate(db, NOW);
    });
    afterAll(async () => {
      await close(db);
    });

    it('records, scores and reads back combinations whose keys are tens of kilobytes', async () => {
      const [a, b] = [combination(1000, 1), combination(1000, 2)];
      expect(a.key.length).toBeGreaterThan(20_000);
      await createStudy(db, 'big', {}, {}, NOW);
      await db.transaction((tx) =>
        insertGeneration(tx, { studyId: 'big', generation: 0, combinations: [a, b, a], tests: [{ key: a.key, trial: 0, taskId: 't0' }] }, NOW),
      );
      await db.transaction((tx) => recordScores(tx, 'big', [{ key: a.key, classification: 'elite', score: 0.9 }, { key: b.key, classification: 'deprecated', score: 0.1 }], 0, NOW));
      // Scoring a generation again replaces its points, keyed by the same long keys.
      await db.transaction((tx) => recordScores(tx, 'big', [{ key: a.key, classification: 'elite', score: 0.95 }], 0, NOW + 1));
      const combinations = await listCombinations(db, 'big');
      expect(combinations.map((c) => [c.key, c.score])).toEqual([
        [a.key, 0.95],
        [b.key, 0.1],
      ]);
      expect(combinations[0]!.variables).toEqual(a.variables);
      expect((await scoreHistory(db, 'big')).map((p) => [p.key === a.key ? 'a' : 'b', p.score]).sort()).toEqual([
        ['a', 0.95],
        ['b', 0.1],
      ]);
    });
  });
}

largeSpaces(
  'PostgreSQL',
  () => openPostgres({ url: DATABASE_URL, schema: uniqueName('large'), poolSize: 2 }),
  async (db) => {
    await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await db.close();
  },
);
largeSpaces('PGlite', () => openPglite({ dataDir: ':memory:', schema: 'orchestra' }), (db) => db.close());
