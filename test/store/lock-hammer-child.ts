/**
 * One of several processes for data-dir-lock.test.ts that fight over one data
 * folder's lock: `node --import tsx test/store/lock-hammer-child.ts <dataDir> <deadPid> <attempts> <id>`.
 * Prints {"event":"ready"}, waits for a line on stdin, then per attempt: acquires
 * the lock; while it holds it, checks it is the only holder (a marker file made
 * with O_EXCL) and that the lock file still names it; then either releases the
 * lock or, every third time, leaves it naming `deadPid` as a crashed owner would.
 * Ends with one JSON line of counts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataDirLock } from '../../src/store/data-dir-lock.js';
import { DataDirLockedError } from '../../src/store/index.js';

const [dataDir, deadPid, attemptsText, id] = process.argv.slice(2) as [string, string, string, string];
const attempts = Number(attemptsText);
const lockFile = path.join(dataDir, 'orchestra.lock');
const marker = path.join(dataDir, 'holder');
const counts = { acquired: 0, refused: 0, abandoned: 0, overlaps: 0, stolen: 0 };
const read = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
};

process.stdout.write(JSON.stringify({ event: 'ready' }) + '\n');
process.stdin.once('data', () => {
  for (let i = 0; i < attempts; i++) {
    let lock: DataDirLock;
    try {
      lock = DataDirLock.acquire(dataDir);
    } catch (err) {
      if (!(err instanceof DataDirLockedError)) throw err;
      counts.refused++;
      continue;
    }
    counts.acquired++;
    try {
      fs.writeFileSync(marker, id, { flag: 'wx' });
    } catch {
      counts.overlaps++; // another process holds the lock at the same time
    }
    if (read(lockFile).split('\n')[0] !== String(process.pid)) counts.stolen++; // removed or replaced while held
    if (read(marker) === id) fs.rmSync(marker);
    if (i % 3 === 0) {
      // Gone without cleaning up: the lock now names a process that no longer exists.
      const draft = `${lockFile}.${process.pid}.crash`;
      fs.writeFileSync(draft, deadPid);
      fs.renameSync(draft, lockFile);
      counts.abandoned++;
    } else {
      lock.release();
    }
  }
  process.stdout.write(JSON.stringify({ event: 'done', ...counts }) + '\n');
  process.exit(0);
});
