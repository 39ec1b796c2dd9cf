import { describe, it, expect, afterAll } from 'vitest';
import {
  migrate,
  MigrationError,
  MIGRATIONS,
  openPglite,
  openPostgres,
  SchemaTooNewError,
  type Db,
  type Migration,
} from '../../src/store/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const versions = MIGRATIONS.map((m) => m.version);
const latest = versions.at(-1)!;

/** Every database a test opened, closed (and its PostgreSQL schema dropped) at the end. */
const opened: Db[] = [];

afterAll(async () => {
  for (const db of opened) {
    if (db.backend === 'postgres') await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`).catch(() => undefined);
    await db.close().catch(() => undefined);
  }
});

async function track(db: Promise<Db>): Promise<Db> {
  const opening = await db;
  opened.push(opening);
  return opening;
}

const recorded = async (db: Db) =>
  (await db.query<{ version: number; name: string; applied_at: Date }>(
    `SELECT version, name, applied_at FROM ${db.schema}.schema_migrations ORDER BY version`,
  )).map((r) => ({ version: Number(r.version), name: r.name, appliedAt: new Date(r.applied_at).getTime() }));

const tableExists = async (db: Db, table: string) =>
  (await db.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [`${db.schema}.${table}`]))[0]!.t !== null;

describe('the bundled migrations', () => {
  it('are numbered in increasing order from 1, each with a name and SQL', () => {
    // Versions are reserved when a migration is planned, so one may land before another with a lower number.
    expect(versions[0]).toBe(1);
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
    for (const m of MIGRATIONS) {
      expect(m.name).toMatch(/^[a-z0-9_]+$/);
      expect(m.sql.trim().length).toBeGreaterThan(0);
    }
  });
});

// Starting PGlite takes a second or more, so its tests share one in-memory
// database and each starts from an emptied schema; PostgreSQL tests each get
// a schema of their own.
let pglite: Db | undefined;
async function freshPglite(): Promise<Db> {
  pglite ??= await track(openPglite({ dataDir: ':memory:', schema: 'orchestra' }));
  await pglite.exec(`DROP SCHEMA IF EXISTS orchestra CASCADE; CREATE SCHEMA orchestra;`);
  return pglite;
}

describe.each([
  ['PGlite in memory', freshPglite],
  ['PostgreSQL', () => track(openPostgres({ url: DATABASE_URL, schema: uniqueName('mig') }))],
])('migrate on %s', (_name, open) => {
  it('applies every migration in order, records each with its name and the given time, and a second run applies nothing', async () => {
    const db = await open();
    expect(await migrate(db, NOW)).toEqual({ applied: versions, version: latest });
    expect(await recorded(db)).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name, appliedAt: NOW })));

    expect(await migrate(db, NOW + 60_000)).toEqual({ applied: [], version: latest });
    expect(await recorded(db)).toHaveLength(MIGRATIONS.length);
  });

  it('creates the tables, the completion function and the partial claim index in its schema', async () => {
    const db = await open();
    await migrate(db, NOW);
    const tables = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [db.schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      'agents',
      'alerts',
      'analysis_reports',
      'api_tokens',
      'bots',
      'campaigns',
      'combinations',
      'dead_letters',
      'generations',
      'late_reports',
      'schema_migrations',
      'score_history',
      'studies',
      'study_drivers',
      'task_dependencies',
      'tasks',
      'test_results',
    ]);

    const functions = await db.query<{ routine_name: string }>(
      `SELECT routine_name FROM information_schema.routines WHERE routine_schema = $1`,
      [db.schema],
    );
    expect(functions.map((f) => f.routine_name)).toContain('complete_tasks');

    const [claimable] = await db.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'tasks' AND indexname = 'tasks_claimable'`,
      [db.schema],
    );
    expect(claimable).toBeDefined();
    // Partial: only runnable rows are in it, so a claim never scans blocked or finished tasks.
    expect(claimable!.indexdef).toMatch(/\(kind, priority, seq\) WHERE/);
    expect(claimable!.indexdef).toContain(`status = 'PENDING'`);
    expect(claimable!.indexdef).toContain('pending_dependencies = 0');
  });

  it('applies only the migrations a database has not seen yet', async () => {
    const db = await open();
    expect(await migrate(db, NOW, MIGRATIONS.slice(0, 1))).toEqual({ applied: [1], version: 1 });
    expect(await tableExists(db, 'tasks')).toBe(true);
    expect(await migrate(db, NOW + 1)).toEqual({ applied: versions.slice(1), version: latest });
    expect((await recorded(db)).map((r) => [r.version, r.appliedAt])).toEqual(versions.map((v) => [v, v === 1 ? NOW : NOW + 1]));
  });

  it('refuses a database migrated by a newer Orchestra with SchemaTooNewError, changing nothing', async () => {
    const db = await open();
    await migrate(db, NOW);
    await db.query(`INSERT INTO ${db.schema}.schema_migrations (version, name, applied_at) VALUES ($1, 'from_the_future', $2)`, [
      latest + 1,
      new Date(NOW),
    ]);
    const err = await migrate(db, NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaTooNewError);
    expect(err).toMatchObject({ code: 'ORC_STORE_SCHEMA_TOO_NEW', found: latest + 1, known: latest, retryable: false });
    expect((err as Error).message).toContain(String(latest + 1));
    expect(await recorded(db)).toHaveLength(MIGRATIONS.length + 1);
  });

  it('refuses to run an older Orchestra, one that knows fewer migrations, against a newer database', async () => {
    const db = await open();
    await migrate(db, NOW);
    const older = MIGRATIONS.slice(0, 1);
    await expect(migrate(db, NOW, older)).rejects.toMatchObject({ code: 'ORC_STORE_SCHEMA_TOO_NEW', found: latest, known: 1 });
  });

  it('leaves nothing behind when a migration fails, not even the migrations before it', async () => {
    const db = await open();
    const broken: Migration[] = [MIGRATIONS[0]!, { version: 2, name: 'broken', sql: 'ALTER TABLE no_such_table ADD COLUMN x int;' }];
    const err = await migrate(db, NOW, broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ code: 'ORC_STORE_MIGRATION_FAILED', version: 2 });
    expect((err as Error).message).toContain('no_such_table');
    expect(await tableExists(db, 'tasks')).toBe(false);
    expect(await tableExists(db, 'schema_migrations')).toBe(false);
    // The connection is usable afterwards, and the real migrations then apply in full.
    expect((await migrate(db, NOW)).applied).toEqual(versions);
  });
});

describe('concurrent migrations on PostgreSQL', () => {
  it('succeed in two processes started together and apply each migration once', async () => {
    const schema = uniqueName('mig_race');
    const a = await track(openPostgres({ url: DATABASE_URL, schema, poolSize: 2 }));
    const b = await track(openPostgres({ url: DATABASE_URL, schema, poolSize: 2 }));
    const reports = await Promise.all([migrate(a, NOW), migrate(b, NOW)]);
    // One did the work; the other waited on the lock, then found nothing to do.
    expect(reports.map((r) => r.applied).sort((x, y) => y.length - x.length)).toEqual([versions, []]);
    expect(reports.every((r) => r.version === latest)).toBe(true);
    expect((await recorded(a)).map((r) => r.version)).toEqual(versions);
  });

  it('keep schemas apart: two schemas in one database each get every migration', async () => {
    const a = await track(openPostgres({ url: DATABASE_URL, schema: uniqueName('mig_a'), poolSize: 1 }));
    const b = await track(openPostgres({ url: DATABASE_URL, schema: uniqueName('mig_b'), poolSize: 1 }));
    const [ra, rb] = await Promise.all([migrate(a, NOW), migrate(b, NOW)]);
    expect(ra.applied).toEqual(versions);
    expect(rb.applied).toEqual(versions);
  });
});
