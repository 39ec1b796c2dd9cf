import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect, afterAll } from 'vitest';
import type { Task, TaskContext } from '../../src/protocol/index.js';
import { commandHandler } from '../../src/workloads/index.js';
import { ProcessLauncher } from '../../src/workloads/launcher.js';
import type { LauncherReply } from '../../src/workloads/launcher-protocol.js';
import { until } from '../agents/helpers.js';

const task: Task = {
  taskId: 't-1',
  status: 'RUNNING',
  kind: 'work',
  payload: {},
  priority: 5,
  result: null,
  error: null,
  workerId: 'w',
  attempt: 1,
  dependsOn: [],
  createdAt: 0,
  updatedAt: 0,
  maxAttempts: 3,
  idempotencyKey: null,
  runAt: 0,
  leaseExpiresAt: null,
};
const context = (): TaskContext => ({ signal: new AbortController().signal, workerId: 'w', attempt: 1, dependencies: async () => [] });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-launcher-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Running, as opposed to gone or a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const readPid = (file: string) => until(`${file} to hold a pid`, () => fs.existsSync(file) && Number(fs.readFileSync(file, 'utf8')));

/** A process's parent, from /proc. */
const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);

describe('the launcher process', () => {
  it('fails the commands it held when it is lost, killing their groups, and a new one runs the next command', async () => {
    const launcher = new ProcessLauncher();
    const pidFile = path.join(dir, 'lost.pid');
    const running = commandHandler(`sleep 1000 & echo $! > ${pidFile}; wait`, { launcher })(task, context()).catch((e: unknown) => e);
    const sleeper = await readPid(pidFile);
    // The sleep's parent is the command's shell, and the shell's the launcher.
    const first = parentOf(parentOf(sleeper));
    process.kill(first, 'SIGKILL');
    expect(await running).toMatchObject({ code: 'ORC_WORKER_COMMAND_EXIT', retryable: true, message: expect.stringContaining('command launcher') });
    await until('the lost command to die', () => !alive(sleeper));
    const next = path.join(dir, 'next.pid');
    expect(await commandHandler(`echo $PPID > ${next}; echo '{"ok":true}'`, { launcher })(task, context())).toEqual({ ok: true });
    expect(Number(fs.readFileSync(next, 'utf8'))).not.toBe(first);
  });

  it('starts commands directly when the launcher cannot start at all, saying so once', async () => {
    const broken = path.join(dir, 'broken.mjs');
    fs.writeFileSync(broken, 'process.exit(3);\n');
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const launcher = new ProcessLauncher({ path: broken, execArgv: [] });
      const run = commandHandler(`cat`, { launcher });
      expect(await run({ ...task, payload: { n: 1 } }, context())).toEqual({ n: 1 });
      expect(await run({ ...task, payload: { n: 2 } }, context())).toEqual({ n: 2 });
      await until('the warning', () => warnings.length > 0);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.message).toMatch(/launcher exited with code 3 before it was ready/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('kills every group it started and exits when its parent goes (the channel closes)', async () => {
    const script = fileURLToPath(new URL('../../src/workloads/launcher-process.ts', import.meta.url));
    const launcher = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
    const replies: LauncherReply[] = [];
    launcher.on('message', (reply: LauncherReply) => replies.push(reply));
    const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
    const pidFile = path.join(dir, 'orphan.pid');
    launcher.send({ t: 'run', id: 1, command: `sleep 1000 & echo $! > ${pidFile}; wait`, cwd: dir, env: process.env, input: '' });
    const sleeper = await readPid(pidFile);
    await until('the launcher to say it started it', () => replies.some((r) => r.t === 'started' && r.id === 1));
    // A Ctrl-C at the terminal reaches it too: the parent decides, so it stays.
    launcher.kill('SIGINT');
    launcher.disconnect();
    expect(await exited).toBe(0);
    await until('the command it started to die', () => !alive(sleeper));
  });
});
