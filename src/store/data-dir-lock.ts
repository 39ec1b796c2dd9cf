import fs from 'node:fs';
import path from 'node:path';
import { DataDirLockedError } from './errors.js';

/**
 * PGlite is one database inside one process: a second process writing the
 * same folder would corrupt it. A lock file holding the owner's pid keeps the
 * second one out; a lock left by a process that no longer exists is taken over.
 */
export class DataDirLock {
  private constructor(private readonly file: string) {}

  static acquire(dataDir: string): DataDirLock {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, 'orchestra.lock');
    for (let tries = 0; tries < 3; tries++) {
      try {
        fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
        return new DataDirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number.parseInt(readOrEmpty(file), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new DataDirLockedError(dataDir, owner);
      }
      if (owner === process.pid) throw new DataDirLockedError(dataDir, owner);
      // Stale: its owner died without cleaning up. Remove and try again.
      fs.rmSync(file, { force: true });
    }
    throw new DataDirLockedError(dataDir, Number.parseInt(readOrEmpty(file), 10) || 0);
  }

  release(): void {
    if (readOrEmpty(this.file) === String(process.pid)) fs.rmSync(this.file, { force: true });
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
