import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { OrchestraError } from '../../src/protocol/index.js';
import { DuplicateKeyError, openPglite, openPostgres, StoreRefusedError, translatePgError, type Db } from '../../src/store/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';

/** An error as the drivers throw it: a message and the server's fields. */
const pgError = (code: string, message: string, fields: Record<string, string> = {}) => Object.assign(new Error(message), { code, ...fields });

describe('translatePgError', () => {
  it.each([
    ['53100', 'could not extend file "base/16384/16385": No space left on device', 'ORC_STORE_DISK_FULL', /no disk space left/, true],
    ['53200', 'out of memory', 'ORC_STORE_OUT_OF_MEMORY', /ran out of memory/, true],
    ['53300', 'sorry, too many clients already', 'ORC_STORE_OUT_OF_RESOURCES', /ran out of resources/, true],
    ['54000', 'index row size 3016 exceeds btree version 4 maximum 2704 for index "combinations_pkey"', 'ORC_STORE_LIMIT_EXCEEDED', /beyond a limit/, false],
    ['54001', 'stack depth limit exceeded', 'ORC_STORE_LIMIT_EXCEEDED', /beyond a limit/, false],
    ['22P05', 'unsupported Unicode escape sequence', 'ORC_STORE_UNSTORABLE_VALUE', /cannot hold a value/, false],
    ['22P02', 'invalid input syntax for type json', 'ORC_STORE_UNSTORABLE_VALUE', /cannot hold a value/, false],
  ])('maps SQLSTATE %s to an Orchestra code that says what happened', (sqlState, said, code, meaning, retryable) => {
    const cause = pgError(sqlState, said);
    const err = translatePgError(cause) as StoreRefusedError;
    expect(err).toBeInstanceOf(StoreRefusedError);
    expect(err).toMatchObject({ code, sqlState, retryable, cause });
    expect(err.message).toMatch(meaning);
    expect(err.message).toContain(`(PostgreSQL ${sqlState}: ${said})`);
  });

  it('names the column and value of a unique violation', () => {
    const err = translatePgError(pgError('23505', 'duplicate key value violates unique constraint "tasks_pkey"', { constraint: 'tasks_pkey', detail: 'Key (task_id)=(job-1) already exists.' }));
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect(err).toMatchObject({ code: 'ORC_STORE_DUPLICATE_KEY', constraint: 'tasks_pkey', column: 'task_id', value: 'job-1', message: 'a row with task_id job-1 already exists' });
  });

  it('leaves other errors as they are', () => {
    const syntax = pgError('42601', 'syntax error at or near "SELEC"');
    const own = new OrchestraError('ORC_STORE_UNREACHABLE', 'down');
    const plain = new Error('no code');
    for (const err of [syntax, own, plain, 'text', null]) expect(translatePgError(err)).toBe(err);
  });
});

// An md5 chain does not compress, so a few kilobytes of it overflow a btree index row.
const INCOMPRESSIBLE = `SELECT string_agg(md5(i::text), '') AS text FROM generate_series(1, 200) AS i`;

function realRefusals(name: string, open: () => Promise<Db>, close: (db: Db) => Promise<void>) {
  describe(`store refusals on ${name}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await open();
      await db.exec(`CREATE TABLE refusals (k text PRIMARY KEY, doc jsonb)`);
    });
    afterAll(async () => {
      await close(db);
    });

    it('maps an index row too large to ORC_STORE_LIMIT_EXCEEDED', async () => {
      const [{ text }] = (await db.query<{ text: string }>(INCOMPRESSIBLE)) as [{ text: string }];
      await expect(db.query(`INSERT INTO refusals (k) VALUES ($1)`, [text])).rejects.toMatchObject({ code: 'ORC_STORE_LIMIT_EXCEEDED', sqlState: '54000' });
      await expect(db.transaction((tx) => tx.query(`INSERT INTO refusals (k) VALUES ($1)`, [text]))).rejects.toMatchObject({ code: 'ORC_STORE_LIMIT_EXCEEDED' });
    });

    it('maps JSON with U+0000 or a lone surrogate to ORC_STORE_UNSTORABLE_VALUE', async () => {
      await expect(db.query(`INSERT INTO refusals (k, doc) VALUES ('a', $1::jsonb)`, [JSON.stringify({ s: 'a\u0000b' })])).rejects.toMatchObject({ code: 'ORC_STORE_UNSTORABLE_VALUE' });
      await expect(db.query(`INSERT INTO refusals (k, doc) VALUES ('a', $1::jsonb)`, [JSON.stringify({ s: 'a\udc00b' })])).rejects.toMatchObject({ code: 'ORC_STORE_UNSTORABLE_VALUE' });
    });

    it('maps a unique violation to a DuplicateKeyError naming the key', async () => {
      await db.query(`INSERT INTO refusals (k) VALUES ('dup')`);
      await expect(db.query(`INSERT INTO refusals (k) VALUES ('dup')`)).rejects.toMatchObject({ code: 'ORC_STORE_DUPLICATE_KEY', column: 'k', value: 'dup' });
    });
  });
}

realRefusals(
  'PostgreSQL',
  () => openPostgres({ url: DATABASE_URL, schema: uniqueName('refusals'), poolSize: 2 }).then(async (db) => {
    await db.exec(`CREATE SCHEMA ${db.schema}`);
    return db;
  }),
  async (db) => {
    await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await db.close();
  },
);
realRefusals('PGlite', () => openPglite({ dataDir: ':memory:', schema: 'orchestra' }), (db) => db.close());
