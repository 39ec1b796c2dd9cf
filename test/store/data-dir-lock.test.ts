import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { describe, it, expect, afterAll } from 'vitest';
import { DataDirLock } from '../../src/store/data-dir-lock.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./lock-hammer-child.ts', import.meta.url));
const PROCESSES = 6;
const ATTEMPTS = 1500;

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface Counts {
  event: string;
  acquired: number;
  refused: number;
  abandoned: number;
  overlaps: number;
  stolen: number;
}

/** Starts a hammer process; resolves `ready` on its first line and `done` with its counts. */
function hammer(dataDir: string, deadPid: number, id: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(deadPid), String(ATTEMPTS), String(id)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let onReady: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('"ready"')) onReady();
  });
  const done = new Promise<Counts>((resolve, reject) =>
    child.once('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.includes('"done"')) resolve(JSON.parse(last) as Counts);
      else reject(new Error(`hammer ${id} exited with ${code}\n${out}\n${err}`));
    }),
  );
  return { child, ready, done };
}

describe('the data folder lock under contention', { timeout: 240_000 }, () => {
  it('has exactly one holder at a time while six processes acquire, release and take over stale locks', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-lock-'));
    dirs.push(dataDir);
    const gone = spawnSync(process.execPath, ['-e', '0']);
    const hammers = Array.from({ length: PROCESSES }, (_, i) => hammer(dataDir, gone.pid!, i));
    await Promise.all(hammers.map((h) => h.ready));
    for (const h of hammers) h.child.stdin!.write('go\n');
    const counts = await Promise.all(hammers.map((h) => h.done));
    const total = (k: keyof Counts) => counts.reduce((sum, c) => sum + (c[k] as number), 0);
    expect({ overlaps: total('overlaps'), stolen: total('stolen') }).toEqual({ overlaps: 0, stolen: 0 });
    // The stale locks were taken over, again and again, by every process.
    expect(total('abandoned')).toBeGreaterThan(PROCESSES);
    expect(total('acquired')).toBeGreaterThan(total('abandoned'));
  });
});

describe('taking over a stale lock', () => {
  it('clears a takeover left half done by a process that died in the middle of it', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-lock-'));
    dirs.push(dataDir);
    const [owner, taker] = [spawnSync(process.execPath, ['-e', '0']).pid!, spawnSync(process.execPath, ['-e', '0']).pid!];
    const lockFile = path.join(dataDir, 'orchestra.lock');
    fs.writeFileSync(lockFile, String(owner));
    fs.writeFileSync(`${lockFile}.${owner}.takeover`, String(taker));
    const lock = DataDirLock.acquire(dataDir);
    expect(fs.readFileSync(lockFile, 'utf8').split('\n')[0]).toBe(String(process.pid));
    lock.release();
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});
