import fs from 'node:fs';
import path from 'node:path';
import { DataDirLockedError } from './errors.js';

/**
 * PGlite is one database inside one process: a second process writing the
 * same folder would corrupt it. A lock file holding the owner's pid keeps the
 * second one out; a lock left by a process that no longer exists is taken over.
 * Its second line says what the owner runs, so the refusal can name it.
 */
/** Lock files this process holds, so a file naming our own pid can tell a live lock from one left by an earlier process that had the same pid (pid 1 in a container). */
const held = new Set<string>();

/** Tries before giving up when other processes keep taking the folder first. */
const MAX_TRIES = 10;
/** How deep a takeover may go to clear takeovers left by processes that died in the middle of one. */
const MAX_GUARD_DEPTH = 3;

export class DataDirLock {
  private constructor(private readonly file: string) {}

  /** `owner` describes this process for whoever is refused (default: its script and arguments). */
  static acquire(dataDir: string, owner = defaultOwner()): DataDirLock {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.resolve(dataDir, 'orchestra.lock');
    let content = '';
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      if (createWithPid(file, owner)) {
        held.add(file);
        return new DataDirLock(file);
      }
      content = readOrEmpty(file);
      if (content === '') continue; // released between our two looks
      const { pid, command } = parseLock(content);
      if (!isStale(pid, held.has(file))) throw new DataDirLockedError(dataDir, pid, command);
      removeStale(file, content, 0);
    }
    const { pid, command } = parseLock(content);
    throw new DataDirLockedError(dataDir, pid, command);
  }

  release(): void {
    held.delete(this.file);
    // Nobody else removes or replaces a lock whose owner is alive, so it still names us.
    if (parseLock(readOrEmpty(this.file)).pid === process.pid) fs.rmSync(this.file, { force: true });
  }
}

/** A lock's first line is its owner's pid (0 when unreadable), the second what that process runs. */
function parseLock(content: string): { pid: number; command: string | undefined } {
  const [pidLine = '', command = ''] = content.split('\n');
  const pid = Number.parseInt(pidLine, 10);
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : 0, command: command.trim() || undefined };
}

/** Whether a lock naming `pid` was left by a process that is gone: dead, or our own pid when we hold nothing there (a reused pid). */
function isStale(pid: number, heldHere: boolean): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return !heldHere;
  return !isAlive(pid);
}

/**
 * Removes `file` if it still names the stale `owner`. Two processes that both
 * saw the stale lock must not both remove "it": the slower one would remove
 * the lock the faster one created in its place, and both would hold the
 * folder. So removal needs a guard file for this owner, created atomically:
 * only the process that creates it may look again and remove the lock, and
 * while the lock names a process that is gone nobody else can replace it.
 * A guard left by a process that died holding it is stale in turn and is
 * cleared the same way, one level down.
 */
function removeStale(file: string, content: string, depth: number): void {
  const guard = `${file}.${parseLock(content).pid}.takeover`;
  if (!createWithPid(guard, 'taking over a stale lock')) {
    const guardContent = readOrEmpty(guard);
    // A live guard: another process is taking the lock over; look again later.
    if (guardContent === '' || depth >= MAX_GUARD_DEPTH || !isStale(parseLock(guardContent).pid, false)) return;
    removeStale(guard, guardContent, depth + 1);
    if (!createWithPid(guard, 'taking over a stale lock')) return;
  }
  try {
    if (readOrEmpty(file) === content) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/**
 * Creates `file` holding our pid, atomically: the pid is written to a private
 * file first and hard-linked into place, so no other process ever reads the
 * lock empty and mistakes it for a stale one. False when `file` exists.
 */
function createWithPid(file: string, owner: string): boolean {
  const draft = `${file}.${process.pid}.draft`;
  // One line: a newline in the description would read as the end of it.
  fs.writeFileSync(draft, `${process.pid}\n${owner.replace(/\s+/g, ' ').trim()}`);
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

/** Whether a process with this pid exists (one of another user's counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function defaultOwner(): string {
  return [path.basename(process.argv[1] ?? process.argv0), ...process.argv.slice(2)].join(' ');
}
