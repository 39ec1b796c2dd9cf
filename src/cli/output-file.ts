import fs from 'node:fs';
import path from 'node:path';
import type { CliIo } from './context.js';
import { badArgument } from './errors.js';

/** The `--out` that means standard output. */
export const STDOUT_PATH = '-';

/**
 * Refuses, before any work is done, an `--out` the result could not be
 * written to: a folder, a file in a folder that does not exist, or a place
 * this process may not write. A study of hours must not end on a typo in its
 * output path. `shown` is the path as the user gave it.
 */
export function checkOutput(file: string, shown: string): void {
  if (file === STDOUT_PATH) return;
  // Through symbolic links: what matters is where the result would land.
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (stat?.isDirectory()) throw badArgument(`--out ${shown} is a folder: name a file (in it, say)`);
  const where = stat ? (linkTarget(file) ?? file) : file;
  const folder = path.dirname(where);
  if (!fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw badArgument(`--out ${shown}: the folder ${folder} does not exist`);
  // A new file needs its folder; a regular file is replaced by one written beside it, so both; a FIFO or a device is written in place.
  const needs = !stat ? [folder] : stat.isFile() ? [where, folder] : [where];
  for (const p of needs) {
    try {
      fs.accessSync(p, fs.constants.W_OK);
    } catch (err) {
      throw badArgument(`--out ${shown}: cannot write ${p === folder ? `in ${folder}` : p} (${(err as NodeJS.ErrnoException).code ?? 'refused'})`);
    }
  }
}

/**
 * Writes a command's result where `--out` says. A regular file (or a new
 * one) is written to `FILE.PID.tmp` and renamed over it, so a reader never
 * sees half a result. A symbolic link is followed: the file it names is
 * replaced, the link stays. Anything else is written in place: renaming over
 * a device, a FIFO or a socket would replace it with a regular file (run as
 * root, `--out /dev/null` would destroy /dev/null), and `-` is standard output.
 */
export async function writeOutput(file: string, text: string, io: Pick<CliIo, 'stdout'>): Promise<void> {
  if (file === STDOUT_PATH) {
    io.stdout.write(text);
    return;
  }
  const isLink = fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
  const target = isLink ? linkTarget(file) : file;
  if (target === undefined || !isRegularOrAbsent(target)) {
    // A link to nothing yet: written through, which creates the file it names.
    // Asynchronous, so a FIFO waiting for its reader does not block the event loop.
    await fs.promises.writeFile(file, text);
    return;
  }
  const tmp = `${target}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, text);
  await fs.promises.rename(tmp, target);
}

/** The path a symbolic link finally names, when that exists; the path itself when it is no link. */
function linkTarget(file: string): string | undefined {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}

function isRegularOrAbsent(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}
