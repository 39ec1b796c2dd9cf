import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, Queryable } from './db.js';
import { assertSchemaName } from './db.js';
import { DataDirLock } from './data-dir-lock.js';
import { translatePgError } from './pg-errors.js';
import { discardEmptyCluster, emptyCluster } from './pglite-template.js';

/** Runs one driver call, with its refusals in Orchestra's terms. */
async function translated<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw translatePgError(err);
  }
}

export interface PgliteOptions {
  /** A folder that survives restarts; omit (or give `:memory:`) for a database that lives in memory only. */
  dataDir?: string;
  schema: string;
  /** Describes this process in the data folder's lock, for a process that is refused (see DataDirLock). */
  owner?: string;
}

class PgliteDb implements Db {
  readonly backend = 'pglite' as const;

  constructor(
    private readonly pg: PGlite,
    readonly schema: string,
    private readonly lock: DataDirLock | undefined,
  ) {}

  async query<R>(text: string, params?: readonly unknown[]): Promise<R[]> {
    return translated(async () => (await this.pg.query<R>(text, params as unknown[])).rows);
  }

  async exec(text: string): Promise<void> {
    await translated(() => this.pg.exec(text));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    // PGlite is one connection: its transaction() holds it exclusively, so
    // other callers queue behind the transaction instead of joining it.
    return translated(() =>
      this.pg.transaction(async (t: Transaction) =>
        fn({
          query: async <R>(text: string, params?: readonly unknown[]) => translated(async () => (await t.query<R>(text, params as unknown[])).rows),
          exec: async (text: string) => {
            await translated(() => t.exec(text));
          },
        }),
      ),
    );
  }

  async close(): Promise<void> {
    try {
      if (!this.pg.closed) await this.pg.close();
    } finally {
      this.lock?.release();
    }
  }
}

/** The data folder value that keeps the embedded database in memory (tests, one-off runs). */
export const IN_MEMORY = ':memory:';

/** Opens the cluster in `pgdata` (in memory without one); a new one is loaded from the empty cluster's template when there is one. */
async function startPglite(pgdata: string | undefined): Promise<PGlite> {
  const fresh = !pgdata || !fs.existsSync(path.join(pgdata, 'PG_VERSION'));
  const template = fresh ? await emptyCluster() : undefined;
  if (template) {
    const pg = pgdata ? new PGlite(pgdata, { loadDataDir: template }) : new PGlite({ loadDataDir: template });
    try {
      await pg.waitReady;
      return pg;
    } catch {
      // A template that does not start: created as usual below, over whatever it left.
      await pg.close().catch(() => undefined);
      discardEmptyCluster();
      if (pgdata) fs.rmSync(pgdata, { recursive: true, force: true });
    }
  }
  const pg = pgdata ? new PGlite(pgdata) : new PGlite();
  await pg.waitReady;
  return pg;
}

export async function openPglite(options: PgliteOptions): Promise<Db> {
  const schema = assertSchemaName(options.schema);
  const dataDir = options.dataDir === IN_MEMORY ? undefined : options.dataDir;
  const lock = dataDir ? DataDirLock.acquire(dataDir, options.owner) : undefined;
  try {
    const pg = await startPglite(dataDir ? path.join(dataDir, 'pgdata') : undefined);
    await pg.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema};`);
    return new PgliteDb(pg, schema, lock);
  } catch (err) {
    lock?.release();
    throw err;
  }
}
