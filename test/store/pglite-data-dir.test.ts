import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { openStore, DataDirLockedError, MIGRATIONS, type OpenedStore } from '../../src/store/index.js';

const NOW = Date.UTC(2026, 0, 1);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./data-dir-child.ts', import.meta.url));
/** How long a child process may take to start and open PGlite before the test gives up on it. */
const CHILD_START_BOUND_MS = 90_000;

const dirs: string[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-data-'));
  dirs.push(dir);
  return dir;
}

const lockFile = (dataDir: string) => path.join(dataDir, 'orchestra.lock');
/** The pid on the lock file's first line; the second says what that process runs. */
const lockOwner = (dataDir: string) => fs.readFileSync(lockFile(dataDir), 'utf8').split('\n')[0]!.trim();

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface ChildEvent {
  event: 'ready' | 'opened' | 'refused';
  pid?: number;
  code?: string;
  name?: string;
  message?: string;
  ownerPid?: number;
  dataDir?: string;
}

/** Runs test/store/data-dir-child.ts; `next()` resolves with its next JSON line. */
function startChild(dataDir: string, mode: 'try' | 'hold') {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, mode], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines: string[] = [];
  let buffered = '';
  let waiting: (() => void) | undefined;
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts.filter(Boolean));
    waiting?.();
  });

  async function next(): Promise<ChildEvent> {
    let bound: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => {
          waiting = resolve;
          if (lines.length) resolve();
        }),
        exited.then(() => {
          if (!lines.length) throw new Error(`child exited before reporting; stderr:\n${stderr}`);
        }),
        new Promise<never>((_, reject) => {
          bound = setTimeout(() => reject(new Error(`child reported nothing within ${CHILD_START_BOUND_MS} ms; stderr:\n${stderr}`)), CHILD_START_BOUND_MS);
        }),
      ]);
    } finally {
      clearTimeout(bound);
      waiting = undefined;
    }
    return JSON.parse(lines.shift()!) as ChildEvent;
  }

  return { child, next, exited };
}

describe('an embedded data folder', { timeout: 180_000 }, () => {
  it('keeps what was written across a close and a reopen, and is not migrated twice', async () => {
    const dataDir = tempDir();
    const first = await openStore({ dataDir }, NOW);
    expect(first.migrations.applied).toEqual(MIGRATIONS.map((m) => m.version));
    await first.db.query(`INSERT INTO dead_letters (source, code, reason, raw, received_at) VALUES ('t', 'C', 'kept', '{"x":1}', $1)`, [new Date(NOW)]);
    await first.db.close();
    expect(fs.existsSync(lockFile(dataDir))).toBe(false);

    const second = await openStore({ dataDir }, NOW + 1_000);
    try {
      expect(second.migrations.applied).toEqual([]);
      const rows = await second.db.query<{ reason: string; raw: string; received_at: Date }>(`SELECT reason, raw, received_at FROM dead_letters`);
      expect(rows.map((r) => ({ ...r, received_at: new Date(r.received_at).getTime() }))).toEqual([{ reason: 'kept', raw: '{"x":1}', received_at: NOW }]);
    } finally {
      await second.db.close();
    }
  });

  describe('while this process has it open', () => {
    let dataDir: string;
    let first: OpenedStore;

    beforeAll(async () => {
      dataDir = tempDir();
      first = await openStore({ dataDir }, NOW);
    });

    afterAll(async () => {
      await first.db.close();
    });

    it('refuses a second opening in the same process with DataDirLockedError, and the first keeps working', async () => {
      const err = await openStore({ dataDir }, NOW).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirLockedError);
      expect(err).toMatchObject({ code: 'ORC_STORE_DATA_DIR_LOCKED', ownerPid: process.pid, dataDir, retryable: false });
      expect((err as Error).message).toContain(dataDir);
      expect((err as Error).message).toContain(String(process.pid));
      expect(lockOwner(dataDir)).toBe(String(process.pid));
      expect(await first.db.query(`SELECT count(*)::int AS n FROM tasks`)).toEqual([{ n: 0 }]);
    });

    it('refuses another process with the same clear error, naming this process', async () => {
      const { next, exited } = startChild(dataDir, 'try');
      expect(await next()).toEqual({
        event: 'refused',
        code: 'ORC_STORE_DATA_DIR_LOCKED',
        name: 'DataDirLockedError',
        message: expect.stringContaining(`in use by process ${process.pid}`),
        ownerPid: process.pid,
        dataDir,
      });
      expect(await exited).toBe(2);
      expect(lockOwner(dataDir)).toBe(String(process.pid));
    });
  });

  it('opens again in the same process once the first opening is closed', async () => {
    const dataDir = tempDir();
    const first = await openStore({ dataDir }, NOW);
    await first.db.close();
    const again = await openStore({ dataDir }, NOW);
    expect(lockOwner(dataDir)).toBe(String(process.pid));
    await again.db.close();
  });

  it('refuses this process while another holds the folder, and takes it over once that process is killed', async () => {
    const dataDir = tempDir();
    const { child, next, exited } = startChild(dataDir, 'hold');
    expect(await next()).toEqual({ event: 'ready', pid: child.pid });

    const refused = await openStore({ dataDir }, NOW).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ORC_STORE_DATA_DIR_LOCKED', ownerPid: child.pid, ownerCommand: `data-dir-child.ts ${dataDir} hold` });
    expect((refused as Error).message).toContain(`in use by process ${child.pid} (data-dir-child.ts ${dataDir} hold)`);

    // Killed without a chance to clean up: the lock file stays behind, naming a dead process.
    child.kill('SIGKILL');
    await exited;
    expect(lockOwner(dataDir)).toBe(String(child.pid));

    const store = await openStore({ dataDir }, NOW);
    try {
      expect(lockOwner(dataDir)).toBe(String(process.pid));
      expect(store.migrations.applied).toEqual([]);
      // What the other process committed before it died is still there.
      expect(await store.db.query(`SELECT reason FROM dead_letters`)).toEqual([{ reason: 'from the child' }]);
    } finally {
      await store.db.close();
    }
  });

  it('takes over a lock file left by a process that no longer exists', async () => {
    const dataDir = tempDir();
    const gone = spawnSync('true');
    expect(gone.pid).toBeGreaterThan(0);
    fs.writeFileSync(lockFile(dataDir), String(gone.pid));
    const store = await openStore({ dataDir }, NOW);
    expect(lockOwner(dataDir)).toBe(String(process.pid));
    await store.db.close();
    expect(fs.existsSync(lockFile(dataDir))).toBe(false);
  });

  it('takes over a lock file naming its own pid when it holds no lock there (a restart that reused the pid)', async () => {
    // In a container the server is often pid 1 on every start: after a kill, the
    // lock left behind names the pid the new process has, yet no one holds it.
    const dataDir = tempDir();
    fs.writeFileSync(lockFile(dataDir), String(process.pid));
    const store = await openStore({ dataDir }, NOW).catch((e: unknown) => e);
    expect(store).not.toBeInstanceOf(Error);
    const opened = store as OpenedStore;
    expect(lockOwner(dataDir)).toBe(String(process.pid));
    await opened.db.close();
  });

  it('refuses a lock held by a running process it did not start, before touching the folder', async () => {
    const dataDir = tempDir();
    fs.writeFileSync(lockFile(dataDir), '1'); // init: always running
    const err = await openStore({ dataDir }, NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect(err).toMatchObject({ ownerPid: 1 });
    expect(lockOwner(dataDir)).toBe('1');
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
  });
});
