import type { Db } from './db.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { MigrationError, SchemaTooNewError } from './errors.js';

export interface MigrationReport {
  applied: number[];
  version: number;
}

/**
 * Brings the schema up to date. Safe to run from several processes at once:
 * an advisory lock makes the others wait, then find nothing left to do.
 */
export async function migrate(db: Db, nowMs: number, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
  const known = migrations.at(-1)?.version ?? 0;
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`orchestra.migrate.${db.schema}`]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${db.schema}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${db.schema}.schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)`,
    );
    const rows = await tx.query<{ version: number }>(`SELECT version FROM ${db.schema}.schema_migrations ORDER BY version`);
    const done = new Set(rows.map((r) => Number(r.version)));
    const highest = Math.max(0, ...done);
    if (highest > known) throw new SchemaTooNewError(highest, known);
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        await tx.query(`SET LOCAL search_path TO ${db.schema}`);
        await tx.exec(m.sql);
      } catch (err) {
        throw new MigrationError(m.version, err);
      }
      await tx.query(`INSERT INTO ${db.schema}.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [
        m.version,
        m.name,
        new Date(nowMs),
      ]);
      applied.push(m.version);
    }
    return { applied, version: known };
  });
}
