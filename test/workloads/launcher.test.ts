import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect, afterAll } from 'vitest';
import type { TaskContext } from '../../src/protocol/index.js';
import { commandHandler, ProcessGroups } from '../../src/workloads/index.js';
import { ProcessLauncher } from '../../src/workloads/launcher.js';
import type { LauncherReply } from '../../src/workloads/launcher-protocol.js';
import { until } from '../agents/helpers.js';
import { alive, readPid, runningTask } from './support.js';

const task = runningTask({ payload: {} });
const context = (): TaskContext => ({ signal: new AbortController().signal, workerId: 'w', attempt: 1, dependencies: async () => [] });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-launcher-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A process's parent, from /proc. */
const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);

describe('the launcher process', () => {
  it('fails the commands it held when it is lost, killing their groups, and a new one runs the next command', async () => {
    const launcher = new ProcessLauncher();
    const pidFile = path.join(dir, 'lost.pid');
    const groups = new ProcessGroups();
    const running = commandHandler(`sleep 1000 & echo $! > ${pidFile}; wait`, { launcher, groups })(task, context()).catch((e: unknown) => e);
    const sleeper = await readPid(pidFile);
    // Its group is known here once the launcher's word that it started has arrived.
    await until('the command to be known started', () => groups.size === 1);
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
    // Only the launcher's own: another part of the process may warn meanwhile.
    const onWarning = (w: Error & { code?: string }) => w.code === 'ORC_LAUNCHER_UNAVAILABLE' && warnings.push(w);
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
