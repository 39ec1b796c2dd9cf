import type { Db } from './db.js';
import { openPostgres } from './postgres.js';
import { openMigratedPglite, openPglite } from './pglite.js';
import { migrate, type MigrationReport } from './migrate.js';
import { storeConfig, type StoreOptions } from './config.js';

export interface OpenedStore {
  db: Db;
  migrations: MigrationReport;
}

/**
 * Opens PostgreSQL when a URL is given, the embedded PGlite folder otherwise,
 * and applies pending migrations before anything else touches the schema.
 */
export async function openStore(options: StoreOptions, nowMs: number, { runMigrations = true, owner }: { runMigrations?: boolean; owner?: string } = {}): Promise<OpenedStore> {
  const config = storeConfig.parse(options);
  // A new embedded database starts from a copy with the migrations already applied.
  if (!config.databaseUrl && runMigrations) return openMigratedPglite({ dataDir: config.dataDir, schema: config.schema, ...(owner ? { owner } : {}) }, nowMs);
  const db = config.databaseUrl
    ? await openPostgres({ url: config.databaseUrl, schema: config.schema, poolSize: config.poolSize })
    : await openPglite({ dataDir: config.dataDir, schema: config.schema, ...(owner ? { owner } : {}) });
  try {
    const migrations = runMigrations ? await migrate(db, nowMs) : { applied: [], version: 0 };
    return { db, migrations };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}
