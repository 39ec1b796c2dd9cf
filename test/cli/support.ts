import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import { openPostgres } from '../../src/store/index.js';
import { DATABASE_URL, REDIS_URL } from '../support/env.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
// By URL, because `--import tsx` resolves from the working directory, and the
// commands run in a temporary one.
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/**
 * Commands still running when their test ends (it failed, or timed out):
 * killed then, so a hung command never outlives its test. A command is never
 * killed on a deadline of its own shorter than the test's limit: on a loaded
 * machine the test's limit is the only clock.
 */
const live = new Set<ChildProcess>();
afterEach(() => {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
});

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a command under test: the caller's, minus everything
 * that configures Orchestra, so a developer's own settings cannot leak in.
 */
function cliEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ORCHESTRA_|DATABASE_URL$|REDIS_URL$)/.test(k)));
  // Commands that serve the API (start) take any free port, so tests running side by side never contend for one.
  return { ...clean, ORCHESTRA_API_PORT: '0', ...env };
}

/** A temporary working directory, so nothing lands in the repository (`./.orchestra`). */
export function tempDir(label = 'orchestra-cli-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), label));
}

/** Runs `orchestra ARGS` from the sources to its end, with optional standard input; with `timeoutMs`, fails if it runs longer. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string; cwd: string; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd: options.cwd,
      env: cliEnv(options.env ?? {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(options.input ?? '');
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`orchestra ${args.join(' ')} ran longer than ${options.timeoutMs} ms\n${stderr}`));
          }, options.timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Starts `orchestra ARGS` in the background (a worker), standard input closed. */
export function spawnCli(args: string[], options: { env?: Record<string, string | undefined>; cwd: string }): CliProcess {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: options.cwd,
    env: cliEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits for `condition` on another process's progress; with `timeoutMs`, never longer (by default the test's own limit bounds it). */
export async function waitFor<T>(what: string, condition: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = Infinity): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Resolves with the exit code. By default it waits as long as the test may
 * run (a command still running when its test ends is killed then); with
 * `timeoutMs`, it kills the process and fails after that long.
 */
export async function exitWithin(proc: CliProcess, timeoutMs = Infinity): Promise<number | null> {
  if (timeoutMs === Infinity) return proc.exited;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      proc.child.kill('SIGKILL');
      reject(new Error(`process did not exit within ${timeoutMs} ms\n${proc.stderr()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([proc.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Drops a test's PostgreSQL schema from the shared database. */
export async function dropSchema(schema: string): Promise<void> {
  const db = await openPostgres({ url: DATABASE_URL, schema });
  try {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await db.close();
  }
}

/** Deletes a test's Redis keys from the shared Redis, never flushing it. */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
}
