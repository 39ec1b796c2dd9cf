import { describe, it, expect, afterAll } from 'vitest';
import { redactUrl } from '../../src/protocol/index.js';
import {
  BadDatabaseUrlError,
  openPostgres,
  parseDatabaseUrl,
  StoreUnreachableError,
  type Db,
} from '../../src/store/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';

/** Refusals of a connection that is refused at once must come at once: no retry loop, no 10 s connect timeout. */
const QUICK_MS = 5_000;

const opened: Db[] = [];
afterAll(async () => {
  for (const db of opened) await db.close().catch(() => undefined);
});

const failure = (url: string) => openPostgres({ url, schema: 'orchestra' }).then(
  (db) => {
    opened.push(db);
    throw new Error(`expected ${url} to be refused`);
  },
  (err: unknown) => err,
);

/** DATABASE_URL with another database name. */
function withDatabase(name: string): string {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

describe('openPostgres with a URL that is not PostgreSQL', () => {
  it.each([
    ['mysql://root@127.0.0.1:3306/app'],
    ['redis://127.0.0.1:6379'],
    ['http://127.0.0.1:5432/test'],
    ['file:///var/lib/orchestra'],
  ])('refuses %s with BadDatabaseUrlError (ORC_STORE_BAD_URL), naming the scheme', async (url) => {
    const err = await failure(url);
    expect(err).toBeInstanceOf(BadDatabaseUrlError);
    expect(err).toMatchObject({ code: 'ORC_STORE_BAD_URL', retryable: false });
    expect((err as Error).message).toContain(`"${new URL(url).protocol.replace(/:$/, '')}"`);
  });

  it.each([['not a url'], [''], ['127.0.0.1:5432/test'], ['postgres//127.0.0.1/test']])(
    'refuses the unparsable %j with ORC_STORE_BAD_URL',
    async (url) => {
      const err = await failure(url);
      expect(err).toBeInstanceOf(BadDatabaseUrlError);
      expect(err).toMatchObject({ code: 'ORC_STORE_BAD_URL' });
      expect((err as Error).message).toContain('not a URL');
    },
  );

  it('refuses a URL without a host with ORC_STORE_BAD_URL', async () => {
    expect(await failure('postgres:///test')).toMatchObject({ code: 'ORC_STORE_BAD_URL', message: expect.stringContaining('no host') });
  });

  it('does not put the password of a refused URL in the message', async () => {
    const err = (await failure('mysql://root:hunter2@db/app')) as Error;
    expect(err.message).not.toContain('hunter2');
  });
});

describe('parseDatabaseUrl', () => {
  it('accepts postgres: and postgresql: URLs, and a socket folder given as ?host=', () => {
    expect(parseDatabaseUrl('postgres://u@h:5432/db').hostname).toBe('h');
    expect(parseDatabaseUrl('postgresql://u:p@h/db').protocol).toBe('postgresql:');
    expect(parseDatabaseUrl('postgres:///db?host=/var/run/postgresql').searchParams.get('host')).toBe('/var/run/postgresql');
  });
});

describe('openPostgres with a database that cannot be reached', () => {
  it(
    'refuses a port nothing listens on with StoreUnreachableError (ORC_STORE_UNREACHABLE) at once',
    async () => {
      const err = await failure('postgres://postgres@127.0.0.1:1/x');
      expect(err).toBeInstanceOf(StoreUnreachableError);
      expect(err).toMatchObject({ code: 'ORC_STORE_UNREACHABLE', retryable: true, target: 'postgres://postgres@127.0.0.1:1/x' });
      expect((err as Error).message).toContain('127.0.0.1:1');
      expect(((err as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
    },
    QUICK_MS,
  );

  it(
    'refuses a database that does not exist with ORC_STORE_UNREACHABLE, naming it',
    async () => {
      const name = uniqueName('no_such_db');
      const err = await failure(withDatabase(name));
      expect(err).toBeInstanceOf(StoreUnreachableError);
      expect(err).toMatchObject({ code: 'ORC_STORE_UNREACHABLE' });
      expect((err as Error).message).toContain(`database "${name}" does not exist`);
    },
    QUICK_MS,
  );

  it(
    'hides the password in the error and its target',
    async () => {
      const err = (await failure('postgres://postgres:hunter2@127.0.0.1:1/x')) as StoreUnreachableError;
      expect(err).toBeInstanceOf(StoreUnreachableError);
      expect(err.message).not.toContain('hunter2');
      expect(err.target).toBe('postgres://postgres:***@127.0.0.1:1/x');
    },
    QUICK_MS,
  );
});

describe('openPostgres with a reachable database', () => {
  it('opens a pool that answers queries in its own schema', async () => {
    const schema = uniqueName('conn');
    const db = await openPostgres({ url: DATABASE_URL, schema, poolSize: 2 });
    opened.push(db);
    expect(db).toMatchObject({ backend: 'postgres', schema });
    expect(await db.query<{ path: string }>(`SELECT current_setting('search_path') AS path`)).toEqual([{ path: schema }]);
  });

  it('accepts the postgresql: spelling of the scheme', async () => {
    const db = await openPostgres({ url: DATABASE_URL.replace(/^postgres:/, 'postgresql:'), schema: 'orchestra', poolSize: 1 });
    opened.push(db);
    expect(await db.query<{ one: number }>(`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
  });

  it('refuses a schema name that is not a plain lower-case identifier, since it is written into SQL', async () => {
    for (const schema of ['Orchestra', 'a;DROP SCHEMA public', '1abc', '']) {
      await expect(openPostgres({ url: DATABASE_URL, schema })).rejects.toThrow(/lower-case identifier/);
    }
  });
});

describe('redactUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('postgres://orc:s3cret@db.internal:5432/orchestra?sslmode=require')).toBe(
      'postgres://orc:***@db.internal:5432/orchestra?sslmode=require',
    );
  });

  it('hides a password with encoded characters', () => {
    const redacted = redactUrl('postgres://orc:p%40ss%3Aword@db/x');
    expect(redacted).toBe('postgres://orc:***@db/x');
    expect(redacted).not.toMatch(/p%40ss|word/);
  });

  it('leaves a URL without a password as it is', () => {
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres://postgres@127.0.0.1:5432/test');
  });

  it('says the URL was unparsable rather than echoing it', () => {
    expect(redactUrl('not a url with hunter2')).toBe('(unparsable url)');
  });
});
