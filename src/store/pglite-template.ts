import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

/**
 * An empty PGlite cluster, made once per PGlite version and kept in the
 * user's cache folder as a tarball: a new embedded database is loaded from
 * it instead of being created. Creating a cluster runs initdb in WebAssembly
 * (about 4 s on a 2-core machine); loading the copy takes about 1 s. The
 * cluster holds nothing of Orchestra's: the schema and its migrations are
 * applied to each database as before.
 *
 * Undefined when there is no usable cache folder: the database is then
 * created as usual. `ORCHESTRA_CACHE_DIR` names another folder.
 */
export function emptyCluster(): Promise<Blob | undefined> {
  cached ??= load().catch(() => undefined);
  return cached;
}

/** A template that would not start is removed, so the next database is created as usual and the template made again. */
export function discardEmptyCluster(): void {
  const file = templateFile();
  // Only a regular file of ours: anything else in its place is left as it is.
  if (fs.lstatSync(file, { throwIfNoEntry: false })?.isFile()) fs.rmSync(file);
  cached = undefined;
}

let cached: Promise<Blob | undefined> | undefined;

/** A tar archive has "ustar" at byte 257 of its first header. */
const isTar = (data: Buffer) => data.length > 512 && data.toString('latin1', 257, 262) === 'ustar';

function templateFile(): string {
  const base = process.env['ORCHESTRA_CACHE_DIR'] ?? path.join(process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache'), 'orchestra');
  return path.join(base, `pglite-${pgliteVersion()}-empty.tar`);
}

function pgliteVersion(): string {
  // The package's main module is dist/index.js: its package.json is two folders up.
  const main = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(main), '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

async function load(): Promise<Blob | undefined> {
  const file = templateFile();
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (stat?.isFile()) {
    const kept = fs.readFileSync(file);
    if (isTar(kept)) return new Blob([kept]);
    // Not what this code writes (cut short, or written over): made again below.
  } else if (stat) {
    // Only a regular file is ever read or replaced there.
    return undefined;
  }
  const pg = new PGlite();
  let tarball: Blob;
  try {
    await pg.waitReady;
    tarball = await pg.dumpDataDir('none');
  } finally {
    await pg.close();
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written aside and renamed: a process reading the template never sees half of one.
  const aside = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(aside, Buffer.from(await tarball.arrayBuffer()), { mode: 0o600 });
  fs.renameSync(aside, file);
  return tarball;
}
