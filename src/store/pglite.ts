import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, Queryable } from './db.js';
import { assertSchemaName } from './db.js';
import { DataDirLock } from './data-dir-lock.js';
import { translatePgError } from './pg-errors.js';
import { discardTemplate, emptyCluster, preparedCluster, START } from './pglite-template.js';
import { migrate, type MigrationReport } from './migrate.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

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

/** A copy of a cluster to start a new database from; `migrated`: with the store's migrations already applied. */
interface Template {
  name: string;
  blob: Blob;
  migrated: boolean;
}

const empty = async (): Promise<Template | undefined> => {
  const blob = await emptyCluster();
  return blob && { name: 'empty', blob, migrated: false };
};

/**
 * Opens the cluster in `pgdata` (in memory without one). A new one is loaded
 * from the template `pick` finds, when it finds one, else created. Returns
 * whether it came from a migrated template.
 */
async function startPglite(pgdata: string | undefined, pick: () => Promise<Template | undefined>): Promise<{ pg: PGlite; migrated: boolean }> {
  const fresh = !pgdata || !fs.existsSync(path.join(pgdata, 'PG_VERSION'));
  const template = fresh ? await pick() : undefined;
  if (template) {
    const pg = pgdata ? new PGlite(pgdata, { ...START, loadDataDir: template.blob }) : new PGlite({ ...START, loadDataDir: template.blob });
    try {
      await pg.waitReady;
      return { pg, migrated: template.migrated };
    } catch {
      // A template that does not start: created as usual below, over whatever it left.
      await pg.close().catch(() => undefined);
      discardTemplate(template.name);
      if (pgdata) fs.rmSync(pgdata, { recursive: true, force: true });
    }
  }
  const pg = pgdata ? new PGlite(pgdata, START) : new PGlite(START);
  await pg.waitReady;
  return { pg, migrated: false };
}

export async function openPglite(options: PgliteOptions): Promise<Db> {
  return (await open(options, empty)).db;
}

/**
 * Opens the embedded store with `migrations` applied (see `migrate`). A new
 * database is loaded from a copy of a cluster they were already applied to,
 * kept in the cache folder (see pglite-template), which saves applying them
 * each time (about 0.3 s of a command's start); it reports them as applied
 * now, and records them so. Without such a copy, from the empty cluster.
 */
export async function openMigratedPglite(options: PgliteOptions, nowMs: number, migrations: readonly Migration[] = MIGRATIONS): Promise<{ db: Db; migrations: MigrationReport }> {
  const schema = assertSchemaName(options.schema);
  const name = `${schema}-schema-${digest(migrations)}`;
  const pick = async (): Promise<Template | undefined> => {
    const blob = await preparedCluster(name, async (pg) => migrate(await ready(pg, schema, undefined), nowMs, migrations).then(() => undefined));
    return blob ? { name, blob, migrated: true } : empty();
  };
  const { db, migrated } = await open(options, pick);
  try {
    if (!migrated) return { db, migrations: await migrate(db, nowMs, migrations) };
    // The copy is named by a digest of exactly these migrations, applied when it was made (nothing
    // is left to apply, and nothing else holds this new database); it has them from now.
    await db.query(`UPDATE ${schema}.schema_migrations SET applied_at = $1`, [new Date(nowMs)]);
    const applied = migrations.map((m) => m.version);
    return { db, migrations: { applied, version: applied.at(-1) ?? 0 } };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

async function open(options: PgliteOptions, pick: () => Promise<Template | undefined>): Promise<{ db: Db; migrated: boolean }> {
  const schema = assertSchemaName(options.schema);
  const dataDir = options.dataDir === IN_MEMORY ? undefined : options.dataDir;
  const lock = dataDir ? DataDirLock.acquire(dataDir, options.owner) : undefined;
  try {
    const { pg, migrated } = await startPglite(dataDir ? path.join(dataDir, 'pgdata') : undefined, pick);
    return { db: await ready(pg, schema, lock), migrated };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

async function ready(pg: PGlite, schema: string, lock: DataDirLock | undefined): Promise<Db> {
  await pg.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema};`);
  return new PgliteDb(pg, schema, lock);
}

/** Names a set of migrations by what they are: any change to one names another template. */
function digest(migrations: readonly Migration[]): string {
  const hash = createHash('sha256');
  for (const m of migrations) hash.update(`${m.version}\0${m.name}\0${m.sql}\0`);
  return hash.digest('hex').slice(0, 16);
}
