import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { exitWithin, runCli, spawnCli, tempDir, waitFor } from './support.js';

/** One line on stderr, ending with the code; no stack trace. */
const oneLine = (code: string) => new RegExp(`^orchestra: [^\\n]+ \\[${code}\\]\\n$`);

describe('orchestra errors, as a process sees them', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('exits 2 with one line for an unknown flag', async () => {
    const result = await runCli(['tasks', 'list', '--bogus'], { cwd });
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: "orchestra: unknown option '--bogus' [ORC_CLI_BAD_ARGUMENT]\n" });
  });

  it('exits 1 with one line for a DATABASE_URL that is not PostgreSQL, or that nothing answers', async () => {
    const [badUrl, unreachable] = await Promise.all([
      runCli(['tasks', 'list'], { cwd, env: { DATABASE_URL: 'mysql://x' } }),
      runCli(['tasks', 'stats'], { cwd, env: { DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/x' } }),
    ]);
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toMatch(oneLine('ORC_STORE_BAD_URL'));
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(oneLine('ORC_STORE_UNREACHABLE'));
    expect(unreachable.stderr).not.toContain('secret');
    expect(fs.existsSync(path.join(cwd, '.orchestra'))).toBe(false);
  });

  it('refuses a REDIS_URL that is not a Redis URL as configuration (exit 2), and says a refused Redis is refused (exit 1)', async () => {
    const [garbage, refused] = await Promise.all([
      runCli(['agents'], { cwd, env: { REDIS_URL: 'garbage' } }),
      runCli(['agents', '--data', path.join(cwd, 'refused')], { cwd, env: { REDIS_URL: 'redis://127.0.0.1:1' } }),
    ]);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(oneLine('ORC_CONFIG_INVALID'));
    expect(garbage.stderr).toContain('bus.redisUrl');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(oneLine('ORC_BUS_UNREACHABLE'));
    expect(refused.stderr).toContain('connection refused');
    // The refused run opens its embedded store first: on a loaded machine that alone can take a minute.
  }, 180_000);

  it('adds the stack trace only when ORCHESTRA_DEBUG=1', async () => {
    const result = await runCli(['tasks', 'list'], { cwd, env: { DATABASE_URL: 'mysql://x', ORCHESTRA_DEBUG: '1' } });
    expect(result.code).toBe(1);
    const [first, ...stack] = result.stderr.trim().split('\n');
    expect(first).toMatch(/\[ORC_STORE_BAD_URL\]$/);
    expect(stack.join('\n')).toMatch(/BadDatabaseUrlError[\s\S]*\bat\b/);
  });

  it('refuses settings that contradict each other before opening the data folder', async () => {
    const data = path.join(cwd, 'contradiction');
    fs.writeFileSync(path.join(cwd, 'leases.json'), JSON.stringify({ registry: { leaseMs: 1000 }, worker: { renewEveryMs: 5000 } }));
    const result = await runCli(['worker', '--exec', 'echo=cat', '--data', data, '--config', 'leases.json'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(oneLine('ORC_CONFIG_INVALID'));
    expect(result.stderr).toContain('renewEveryMs');
    expect(fs.existsSync(data)).toBe(false);
  });

  it('refuses a second process on a data folder that is in use', async () => {
    const data = path.join(cwd, 'locked');
    const holder = spawnCli(['worker', '--exec', 'echo=cat', '--data', data], { cwd });
    try {
      // Started, not only locked: a signal during the first open of the folder waits for that open to end.
      await waitFor('the worker to start', () => holder.stdout().includes('started: kinds echo'));
      expect(fs.existsSync(path.join(data, 'orchestra.lock'))).toBe(true);
      const second = await runCli(['tasks', 'list', '--data', data], { cwd });
      expect(second.code, `the second process printed ${JSON.stringify(second)}; the holder, alive: ${holder.child.exitCode === null}, printed ${holder.stderr()}`).toBe(1);
      expect(second.stderr).toMatch(oneLine('ORC_STORE_DATA_DIR_LOCKED'));
      expect(second.stderr).toContain(`process ${holder.child.pid}`);
    } finally {
      holder.child.kill('SIGTERM');
    }
    expect(await exitWithin(holder)).toBe(0);
    expect(fs.existsSync(path.join(data, 'orchestra.lock'))).toBe(false);
    // Released on exit: the folder opens again.
    expect((await runCli(['tasks', 'list', '--data', data], { cwd })).stdout).toBe('no tasks\n');
  });
});
