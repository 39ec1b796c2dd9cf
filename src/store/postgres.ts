import type pg from 'pg';
import type { Db, Queryable } from './db.js';
import { assertSchemaName } from './db.js';
import { BadDatabaseUrlError, StoreUnreachableError } from './errors.js';
import { translatePgError } from './pg-errors.js';
import { redactUrl } from '../protocol/index.js';

export interface PostgresOptions {
  url: string;
  schema: string;
  poolSize?: number;
}

/** Connection errors that mean "nothing answers there", as opposed to a bad query. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', '3D000', '28P01', '28000']);

export function parseDatabaseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BadDatabaseUrlError(url, 'not a URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new BadDatabaseUrlError(url, `scheme "${parsed.protocol.replace(/:$/, '')}" is not postgres`);
  }
  if (!parsed.hostname && !parsed.searchParams.get('host')) throw new BadDatabaseUrlError(url, 'no host');
  return parsed;
}

class PostgresDb implements Db {
  readonly backend = 'postgres' as const;

  constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
    private readonly target: string,
  ) {}

  async query<R>(text: string, params?: readonly unknown[]): Promise<R[]> {
    try {
      const result = await this.pool.query(text, params as unknown[]);
      return result.rows as R[];
    } catch (err) {
      throw this.translate(err);
    }
  }

  async exec(text: string): Promise<void> {
    await this.query(text);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.translate(err);
    }
    const tx: Queryable = {
      query: async <R>(text: string, params?: readonly unknown[]) => {
        try {
          return (await client.query(text, params as unknown[])).rows as R[];
        } catch (err) {
          throw this.translate(err);
        }
      },
      exec: async (text: string) => {
        try {
          await client.query(text);
        } catch (err) {
          throw this.translate(err);
        }
      },
    };
    try {
      await client.query('BEGIN');
      const value = await fn(tx);
      await client.query('COMMIT');
      client.release();
      return value;
    } catch (err) {
      // A broken connection must not go back to the pool; a healthy one is rolled back and reused.
      await client.query('ROLLBACK').then(
        () => client.release(),
        (rollbackErr: Error) => client.release(rollbackErr),
      );
      throw this.translate(err);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  private translate(err: unknown): unknown {
    const code = (err as { code?: string })?.code;
    if (code && UNREACHABLE.has(code)) return new StoreUnreachableError(this.target, err);
    return translatePgError(err);
  }
}

/** Opens a pool on `url` whose connections all work in `schema`. Checks the connection once. */
export async function openPostgres(options: PostgresOptions): Promise<Db> {
  parseDatabaseUrl(options.url);
  const schema = assertSchemaName(options.schema);
  // Loaded here: a process on the embedded store never needs the driver.
  const { default: driver } = await import('pg');
  const pool = new driver.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    // Every connection resolves unqualified names in Orchestra's schema; the
    // schema itself is created by the first migration run.
    options: `-c search_path=${schema}`,
  });
  // An idle client losing its connection (a server restart) must not crash the process.
  pool.on('error', () => undefined);
  const db = new PostgresDb(pool, schema, redactUrl(options.url));
  try {
    await db.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof StoreUnreachableError) throw err;
    throw new StoreUnreachableError(redactUrl(options.url), err);
  }
  return db;
}
