import { describe, it, expect, afterAll } from 'vitest';
import { migrate, MIGRATIONS, openPglite, openPostgres, SchemaTooNewError, type Db } from '../../src/store/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';

const opened: Db[] = [];

afterAll(async () => {
  for (const db of opened) {
    if (db.backend === 'postgres') await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`).catch(() => undefined);
    await db.close().catch(() => undefined);
  }
});

const latest = MIGRATIONS.at(-1)!.version;

describe.each([
  ['PGlite', () => openPglite({ dataDir: ':memory:', schema: 'orchestra' })],
  ['PostgreSQL', () => openPostgres({ url: DATABASE_URL, schema: uniqueName('mig') })],
])('migrations on %s', (_name, open) => {
  it('applies every migration once, records it, and leaves the claim index in place', async () => {
    const db = await open();
    opened.push(db);
    expect(await migrate(db, 0)).toEqual({ applied: MIGRATIONS.map((m) => m.version), version: latest });
    expect(await migrate(db, 0)).toEqual({ applied: [], version: latest });
    const recorded = await db.query<{ version: number }>(`SELECT version FROM schema_migrations ORDER BY version`);
    expect(recorded.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
    const indexes = await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1`, [db.schema]);
    expect(indexes.map((i) => i.indexname)).toContain('tasks_claimable');
  });

  it('refuses a database migrated by a newer Orchestra', async () => {
    const db = await open();
    opened.push(db);
    await migrate(db, 0);
    await db.query(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'from the future', now())`, [latest + 1]);
    await expect(migrate(db, 0)).rejects.toBeInstanceOf(SchemaTooNewError);
  });
});

describe('concurrent migrations on PostgreSQL', () => {
  it('apply once when two processes start together', async () => {
    const schema = uniqueName('mig_race');
    const a = await openPostgres({ url: DATABASE_URL, schema });
    const b = await openPostgres({ url: DATABASE_URL, schema });
    opened.push(b, a);
    const [ra, rb] = await Promise.all([migrate(a, 0), migrate(b, 0)]);
    expect([...ra.applied, ...rb.applied].sort()).toEqual(MIGRATIONS.map((m) => m.version));
  });
});
