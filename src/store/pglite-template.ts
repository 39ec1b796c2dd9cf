import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';

/**
 * How every embedded database starts, and how a new cluster is made.
 *
 * PostgreSQL's default 128 MB of shared buffers is set up (zeroed, its
 * descriptors made) at every start, about 0.35 s of it in WebAssembly;
 * PGlite's files are in memory or in the operating system's page cache, so a
 * page that is not in the buffers costs a copy, not a disk read, and 16 MB is
 * plenty. Given on the command line, so the cluster's postgresql.conf is never
 * rewritten.
 *
 * A new cluster's write-ahead log is kept in 1 MB segments instead of 16: its
 * first segment, zeros but for a few records, is 40 % of a new cluster, and
 * every database started from a copy unpacks it (about 0.2 s less to start).
 */
export const START = {
  startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'],
  initDbStartParams: ['--wal-segsize=1'],
} satisfies PGliteOptions;

/**
 * PGlite clusters kept in the user's cache folder as gzipped tarballs, made
 * once per PGlite version: a new embedded database is loaded from one instead
 * of being created. Creating a cluster runs initdb in WebAssembly (about 3 s
 * on a 2-core machine); loading the copy takes under 1 s (see copyOf). Gzipped,
 * the copy is 2.5 MB instead of 15; PGlite alone starts about 0.14 s sooner
 * from the plain tarball, but a command measured no sooner, so it stays
 * gzipped.
 *
 * Two kinds are kept: the empty cluster (`emptyCluster`), and clusters with a
 * schema already migrated (`preparedCluster`), named by a digest of what was
 * applied to them, so that a change to any migration makes a new one.
 *
 * Copies nobody loaded for a month are removed when a copy is made (pruneStale).
 *
 * Undefined when there is no usable cache folder: the database is then
 * created as usual. `ORCHESTRA_CACHE_DIR` names another folder.
 */
export function emptyCluster(): Promise<Blob | undefined> {
  return template(EMPTY, async () => {
    const pg = new PGlite(MAKING);
    try {
      await pg.waitReady;
      return await copyOf(pg);
    } finally {
      await pg.close();
    }
  });
}

/**
 * The empty cluster after `prepare` ran on it, kept under `name` (part of a
 * file name: lower-case letters, digits, dashes and underscores, never
 * `empty`). Made from the empty cluster when there is one.
 */
export function preparedCluster(name: string, prepare: (pg: PGlite) => Promise<void>): Promise<Blob | undefined> {
  return template(name, async () => {
    const empty = await emptyCluster();
    const pg = new PGlite(empty ? { ...MAKING, loadDataDir: empty } : MAKING);
    try {
      await pg.waitReady;
      await prepare(pg);
      return await copyOf(pg);
    } finally {
      await pg.close();
    }
  });
}

/**
 * A copy of `pg`'s cluster without what Orchestra never uses. template0 and
 * template1, the databases CREATE DATABASE copies, are half of a new cluster
 * (about 16 MB of catalogs), and nothing creates a database in the embedded
 * store; without them a database starts from the copy in about 0.8 s instead
 * of 1.1. The copy is taken after a checkpoint, the cluster keeping as little
 * write-ahead log as PostgreSQL allows (MAKING): a few segments fewer in it.
 */
async function copyOf(pg: PGlite): Promise<Blob> {
  await pg.exec(`UPDATE pg_database SET datistemplate = false WHERE datname IN ('template0', 'template1')`);
  await pg.exec('DROP DATABASE IF EXISTS template0');
  await pg.exec('DROP DATABASE IF EXISTS template1');
  await pg.exec('CHECKPOINT');
  return pg.dumpDataDir('gzip');
}

/** How a cluster a copy is taken of starts. */
const MAKING = { ...START, startParams: [...START.startParams, '-c', 'min_wal_size=2MB'] } satisfies PGliteOptions;

/** Names how copies are made (see templateFile): a change to it must change this. */
const RECIPE = JSON.stringify({ initdb: START.initDbStartParams, copy: 'without template0 and template1, after a checkpoint keeping 2 MB of WAL' });

/** A template that would not start is removed, so the next database is created as usual and the template made again. */
export function discardTemplate(name: string): void {
  const file = templateFile(name);
  // Only a regular file of ours: anything else in its place is left as it is.
  if (fs.lstatSync(file, { throwIfNoEntry: false })?.isFile()) fs.rmSync(file);
  cached.delete(name);
}

export const discardEmptyCluster = (): void => discardTemplate(EMPTY);

const EMPTY = 'empty';

function template(name: string, make: () => Promise<Blob>): Promise<Blob | undefined> {
  let kept = cached.get(name);
  if (!kept) {
    kept = load(name, make).catch(() => undefined);
    cached.set(name, kept);
  }
  return kept;
}

const cached = new Map<string, Promise<Blob | undefined>>();

/**
 * The file is a line naming the SHA-256 of what follows, then the gzipped
 * tarball. PGlite reads a gzip cut short as an error it also leaves unhandled,
 * so a damaged copy must never reach it: the digest is checked first (about
 * 10 ms), and a copy that fails it is made again.
 */
const HEADER = 'orchestra pglite template sha256 ';

function sealed(gzip: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${HEADER}${sha256(gzip)}\n`, 'latin1'), gzip]);
}

/** The gzipped tarball in a sealed file, or undefined when the file is not one whole. */
function unsealed(file: Buffer): Buffer | undefined {
  const end = file.indexOf(0x0a);
  if (end < 0 || end > 200) return undefined;
  const line = file.toString('latin1', 0, end);
  if (!line.startsWith(HEADER)) return undefined;
  const gzip = file.subarray(end + 1);
  return sha256(gzip) === line.slice(HEADER.length) ? gzip : undefined;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function templateFile(name: string): string {
  const base = process.env['ORCHESTRA_CACHE_DIR'] ?? path.join(process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache'), 'orchestra');
  // Named by how a cluster is made too: a copy made otherwise is never taken for one of these.
  const made = createHash('sha256').update(RECIPE).digest('hex').slice(0, 8);
  return path.join(base, `pglite-${pgliteVersion()}-${made}-${name}.template`);
}

function pgliteVersion(): string {
  // The package's main module is dist/index.js: its package.json is two folders up.
  const main = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(main), '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

async function load(name: string, make: () => Promise<Blob>): Promise<Blob | undefined> {
  const file = templateFile(name);
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (stat?.isFile()) {
    const kept = unsealed(fs.readFileSync(file));
    if (kept) {
      markUsed(file, stat.mtimeMs);
      // A copy in a plain ArrayBuffer: a Buffer may sit in a shared pool, which a Blob does not take.
      return new Blob([new Uint8Array(kept)]);
    }
    // Not what this code writes (cut short, or written over): made again below.
  } else if (stat) {
    // Only a regular file is ever read or replaced there.
    return undefined;
  }
  const tarball = await make();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written aside and renamed: a process reading the template never sees half of one.
  const aside = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(aside, sealed(Buffer.from(await tarball.arrayBuffer())), { mode: 0o600 });
  fs.renameSync(aside, file);
  pruneStale(path.dirname(file));
  return tarball;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** A copy nobody loaded for this long is one no installed version uses any more (another PGlite, another schema). */
const STALE_TEMPLATE_MS = 30 * DAY_MS;

/**
 * A copy in use has its modification time moved to now, at most once a day,
 * so pruneStale can tell it from one no version of Orchestra loads any more.
 */
function markUsed(file: string, mtimeMs: number): void {
  const nowMs = Date.now();
  if (nowMs - mtimeMs < DAY_MS) return;
  try {
    fs.utimesSync(file, new Date(nowMs), new Date(nowMs));
  } catch {
    // A cache folder that cannot be written: the copy is still read.
  }
}

/**
 * Each PGlite version, and each change to the migrations, makes new copies;
 * the old ones would stay in the cache folder for good. When a copy is made,
 * the copies nobody loaded for STALE_TEMPLATE_MS (about 2.5 MB each) and the
 * halves of copies whose writer died before renaming them (a day old) are
 * removed. Only regular files named as this code names them.
 */
function pruneStale(folder: string): void {
  const nowMs = Date.now();
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return;
  }
  for (const name of names) {
    const maxAgeMs = /^pglite-.+\.template$/.test(name) ? STALE_TEMPLATE_MS : /^pglite-.+\.template\.\d+\.tmp$/.test(name) ? DAY_MS : undefined;
    if (maxAgeMs === undefined) continue;
    const file = path.join(folder, name);
    try {
      const stat = fs.lstatSync(file);
      if (stat.isFile() && nowMs - stat.mtimeMs > maxAgeMs) fs.rmSync(file);
    } catch {
      // Removed meanwhile by another process, or not ours to remove.
    }
  }
}
