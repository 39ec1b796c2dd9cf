import fs from 'node:fs';
import path from 'node:path';
import { DataDirLockedError } from './errors.js';

/**
 * PGlite is one database inside one process: a second process writing the
 * same folder would corrupt it. A lock file holding the owner's pid keeps the
 * second one out; a lock left by a process that no longer exists is taken over.
 */
/** Lock files this process holds, so a file naming our own pid can tell a live lock from one left by an earlier process that had the same pid (pid 1 in a container). */
const held = new Set<string>();

export class DataDirLock {
  private constructor(private readonly file: string) {}

  static acquire(dataDir: string): DataDirLock {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.resolve(dataDir, 'orchestra.lock');
    for (let tries = 0; tries < 3; tries++) {
      if (createWithPid(file)) {
        held.add(file);
        return new DataDirLock(file);
      }
      const owner = Number.parseInt(readOrEmpty(file), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new DataDirLockedError(dataDir, owner);
      }
      if (owner === process.pid && held.has(file)) throw new DataDirLockedError(dataDir, owner);
      // Stale: its owner died without cleaning up. Remove and try again.
      fs.rmSync(file, { force: true });
    }
    throw new DataDirLockedError(dataDir, Number.parseInt(readOrEmpty(file), 10) || 0);
  }

  release(): void {
    held.delete(this.file);
    if (readOrEmpty(this.file) === String(process.pid)) fs.rmSync(this.file, { force: true });
  }
}

/**
 * Creates `file` holding our pid, atomically: the pid is written to a private
 * file first and hard-linked into place, so no other process ever reads the
 * lock empty and mistakes it for a stale one. False when `file` exists.
 */
function createWithPid(file: string): boolean {
  const draft = `${file}.${process.pid}.draft`;
  fs.writeFileSync(draft, String(process.pid));
  try {
    fs.linkSync(draft, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    fs.rmSync(draft, { force: true });
  }
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
