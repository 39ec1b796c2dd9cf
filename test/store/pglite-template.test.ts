import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { MIGRATIONS, openPglite, openStore } from '../../src/store/index.js';
import { openMigratedPglite } from '../../src/store/pglite.js';
import { discardEmptyCluster, emptyCluster } from '../../src/store/pglite-template.js';
import { runModuleScript } from '../support/module-script.js';

/** A new embedded database is loaded from an empty cluster kept in the cache folder, made once. */
describe('the empty PGlite cluster new databases start from', () => {
  let cache: string;
  let data: string;
  beforeAll(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-cache-'));
    data = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-data-'));
    process.env['ORCHESTRA_CACHE_DIR'] = cache;
    discardEmptyCluster();
  });
  afterAll(() => {
    delete process.env['ORCHESTRA_CACHE_DIR'];
    fs.rmSync(cache, { recursive: true, force: true });
    fs.rmSync(data, { recursive: true, force: true });
  });

  const template = () => fs.readdirSync(cache).filter((f) => f.endsWith('-empty.template'));
  let file: string;

  it('is made on first use, then every new database, in a folder or in memory, starts from it and keeps what it is given', async () => {
    const first = await openPglite({ dataDir: path.join(data, 'a'), schema: 'orchestra' });
    await first.query('CREATE TABLE kept (x int)');
    await first.query('INSERT INTO kept VALUES (7)');
    await first.close();
    expect(template()).toHaveLength(1);
    file = path.join(cache, template()[0]!);
    const again = await openPglite({ dataDir: path.join(data, 'a'), schema: 'orchestra' });
    expect(await again.query('SELECT x FROM kept')).toEqual([{ x: 7 }]);
    // Made with small WAL segments and started with small shared buffers (see START), the buffers set at the start, not written into the cluster's configuration.
    expect(await again.query("SELECT current_setting('shared_buffers') AS buffers, current_setting('wal_segment_size') AS segments")).toEqual([
      { buffers: '16MB', segments: '1MB' },
    ]);
    expect(fs.readFileSync(path.join(data, 'a', 'pgdata', 'postgresql.conf'), 'utf8')).not.toMatch(/^shared_buffers\s*=\s*16MB/m);
    // The copy holds the one database the store uses, not the template databases.
    expect(await again.query('SELECT datname FROM pg_database ORDER BY datname')).toEqual([{ datname: 'postgres' }]);
    await again.close();
    const other = await openPglite({ dataDir: path.join(data, 'b'), schema: 'orchestra' });
    // A database of its own: nothing of the first one.
    await expect(other.query('SELECT x FROM kept')).rejects.toThrow();
    await other.close();
    const memory = await openPglite({ dataDir: ':memory:', schema: 'orchestra' });
    expect(await memory.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await memory.close();
  });

  it('makes again a template that is not one (written over, cut short)', async () => {
    const whole = fs.readFileSync(file);
    for (const [folder, broken] of [
      ['c', Buffer.from('not a tarball')],
      ['c2', whole.subarray(0, whole.length >> 1)],
    ] as const) {
      discardEmptyCluster();
      fs.writeFileSync(file, broken);
      const db = await openPglite({ dataDir: path.join(data, folder), schema: 'orchestra' });
      expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      await db.close();
      expect(fs.readFileSync(file).length).toBeGreaterThan(1_000_000);
    }
  });

  it('removes, when it makes a copy, the copies nobody loaded for a month and halves of copies a day old, and nothing else', async () => {
    const DAY = 24 * 60 * 60 * 1000;
    const age = (p: string, days: number) => {
      const at = new Date(Date.now() - days * DAY);
      fs.lutimesSync(p, at, at);
    };
    // Loading a copy (here in another process, which has not loaded it yet) marks it used: the copy in use is never the one removed.
    age(file, 40);
    const opening = `const { openPglite } = await import('./src/store/index.js'); await (await openPglite({ dataDir: ':memory:', schema: 'orchestra' })).close();`;
    expect((await runModuleScript(opening, { ...process.env, ORCHESTRA_CACHE_DIR: cache })).code).toBe(0);
    expect(Date.now() - fs.statSync(file).mtimeMs).toBeLessThan(DAY);

    const made = (name: string, days: number, make: (p: string) => void = (p) => fs.writeFileSync(p, 'x')) => {
      const p = path.join(cache, name);
      make(p);
      age(p, days);
      return name;
    };
    made('pglite-0.0.1-00000000-empty.template', 40);
    made('pglite-0.0.1-00000000-empty.template.123.tmp', 2);
    const outside = path.join(data, 'outside.template');
    fs.writeFileSync(outside, 'not the cache\'s');
    age(outside, 40);
    const kept = [
      made('pglite-0.0.2-00000000-empty.template', 10),
      made('pglite-0.0.2-00000000-empty.template.456.tmp', 0),
      made('pglite-0.0.3-00000000-empty.template', 40, (p) => fs.mkdirSync(p)),
      made('pglite-0.0.4-00000000-empty.template', 40, (p) => fs.symlinkSync(outside, p)),
      made('notes.txt', 40),
    ];
    // A copy is made (this one was lost): the stale ones go with it.
    fs.rmSync(file);
    discardEmptyCluster();
    const fresh = await openPglite({ dataDir: path.join(data, 'f'), schema: 'orchestra' });
    await fresh.close();
    expect(fs.readdirSync(cache).sort()).toEqual([...kept, path.basename(file)].sort());
    expect(fs.readFileSync(outside, 'utf8')).toBe("not the cache's");
    for (const name of kept) fs.rmSync(path.join(cache, name), { recursive: true });
  });

  it('leaves alone a path in its place that is not a regular file', async () => {
    fs.rmSync(file);
    fs.mkdirSync(file);
    discardEmptyCluster();
    // discardEmptyCluster removes only files: the folder stays, and no template is used.
    expect(fs.statSync(file).isDirectory()).toBe(true);
    expect(await emptyCluster()).toBeUndefined();
    const db = await openPglite({ dataDir: path.join(data, 'd'), schema: 'orchestra' });
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await db.close();
    expect(fs.statSync(file).isDirectory()).toBe(true);
  });

  it('starts a new store from a copy with the migrations applied, reported and recorded as applied at its opening, and makes another copy when a migration changes', async () => {
    const schemaCopies = () => fs.readdirSync(cache).filter((f) => f.includes('-orchestra-schema-'));
    // The copies are made from the empty cluster: put back the one the test before took away.
    for (const f of template()) fs.rmSync(path.join(cache, f), { recursive: true, force: true });
    discardEmptyCluster();
    const NOW = Date.UTC(2026, 5, 1);
    const first = await openStore({ dataDir: path.join(data, 'm1') }, NOW);
    expect(schemaCopies()).toHaveLength(1);
    const second = await openStore({ dataDir: ':memory:' }, NOW + 60_000);
    for (const [store, at] of [[first, NOW], [second, NOW + 60_000]] as const) {
      expect(store.migrations).toEqual({ applied: MIGRATIONS.map((m) => m.version), version: MIGRATIONS.at(-1)!.version });
      const rows = await store.db.query<{ version: number; applied_at: Date }>('SELECT version, applied_at FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => [Number(r.version), new Date(r.applied_at).getTime()])).toEqual(MIGRATIONS.map((m) => [m.version, at]));
      // The schema is there, not only its record: a table of the last migrations answers.
      expect(await store.db.query('SELECT count(*)::int AS n FROM tasks')).toEqual([{ n: 0 }]);
      await store.db.close();
    }
    // Opened again, the folder is not loaded over: nothing more is applied.
    const again = await openStore({ dataDir: path.join(data, 'm1') }, NOW + 120_000);
    expect(again.migrations.applied).toEqual([]);
    await again.db.close();
    // A changed migration names another copy; the store made from it has the change.
    const changed = [...MIGRATIONS, { version: 999, name: 'probe', sql: 'CREATE TABLE probe (x int)' }];
    const other = await openMigratedPglite({ dataDir: ':memory:', schema: 'orchestra' }, NOW);
    await other.db.close();
    const withProbe = await openMigratedPglite({ dataDir: ':memory:', schema: 'orchestra' }, NOW, changed);
    expect(withProbe.migrations.applied).toEqual(changed.map((m) => m.version));
    expect(await withProbe.db.query('SELECT count(*)::int AS n FROM probe')).toEqual([{ n: 0 }]);
    await withProbe.db.close();
    expect(schemaCopies()).toHaveLength(2);
  });
});
