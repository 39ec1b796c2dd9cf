import fs from 'node:fs';
import type { CliIo } from './context.js';

/** The `--out` that means standard output. */
export const STDOUT_PATH = '-';

/**
 * Writes a command's result where `--out` says. A regular file (or a new
 * one) is written to `FILE.PID.tmp` and renamed over it, so a reader never
 * sees half a result. Anything else is written in place: renaming over a
 * device, a FIFO or a socket would replace it with a regular file (run as
 * root, `--out /dev/null` would destroy /dev/null), and `-` is standard output.
 */
export async function writeOutput(file: string, text: string, io: Pick<CliIo, 'stdout'>): Promise<void> {
  if (file === STDOUT_PATH) {
    io.stdout.write(text);
    return;
  }
  if (!isRegularOrAbsent(file)) {
    // Asynchronous, so a FIFO waiting for its reader does not block the event loop.
    await fs.promises.writeFile(file, text);
    return;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, text);
  await fs.promises.rename(tmp, file);
}

/** Follows symbolic links: a link to a device is written through, not replaced. */
function isRegularOrAbsent(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}
