import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterAll } from 'vitest';
import { ManualClock, type Task, type TaskContext } from '../../src/protocol/index.js';
import { commandHandler as handlerOf, parseExecSpec, type CommandOptions } from '../../src/workloads/index.js';
import { directLauncher, processLauncher, type Launcher } from '../../src/workloads/launcher.js';
import { until } from '../agents/helpers.js';
import { alive, readPid, runningTask } from './support.js';

const task = (payload: unknown): Task => runningTask({ payload, attempt: 2 });

const context = (signal = new AbortController().signal): TaskContext => ({ signal, workerId: 'w', attempt: 2, dependencies: async () => [] });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-cmd-'));
let files = 0;
const tempFile = (name: string) => path.join(dir, `${++files}-${name}`);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * A command that leaves a process in a session of its own, holding standard
 * output open, and returns once that process has written its pid (so it is out
 * of the command's group before anything kills the group).
 */
const escape = (pidFile: string) =>
  `setsid sh -c 'echo $$ > ${pidFile}.new; mv ${pidFile}.new ${pidFile}; exec sleep 1000' & while [ ! -s ${pidFile} ]; do sleep 0.01; done`;

// Every behaviour holds whether the command is started through this process's launcher process (the default) or directly.
describe.each([
  ['through the launcher process', processLauncher],
  ['started directly', directLauncher],
] as const)('external command handler, %s', (_how, launcher: Launcher) => {
  const commandHandler = (command: string, options: CommandOptions = {}) => handlerOf(command, { ...options, launcher });

  it('passes the payload on stdin and returns the JSON it prints', async () => {
    const run = commandHandler(
      `node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s);console.log(JSON.stringify({sum:p.a+p.b}))})'`,
    );
    expect(await run(task({ a: 2, b: 3 }), context())).toEqual({ sum: 5 });
  });

  it('never puts the payload on the command line', async () => {
    const marker = tempFile('marker');
    const payload = { text: `$(touch ${marker}); \`touch ${marker}\`` };
    expect(await commandHandler('cat')(task(payload), context())).toEqual(payload);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('tells the command which task and attempt it runs, in its environment and folder', async () => {
    const run = commandHandler('cat >/dev/null; printf \'["%s","%s","%s","%s","%s"]\' "$ORCHESTRA_TASK_ID" "$ORCHESTRA_TASK_KIND" "$ORCHESTRA_ATTEMPT" "$GREETING" "$(pwd)"', {
      env: { GREETING: 'hi' },
      cwd: dir,
    });
    expect(await run(task({}), context())).toEqual(['t-1', 'work', '2', 'hi', fs.realpathSync(dir)]);
  });

  it('treats empty output as a null result, and tolerates trailing whitespace', async () => {
    expect(await commandHandler('cat >/dev/null')(task({}), context())).toBeNull();
    expect(await commandHandler('printf "  \\n"')(task({}), context())).toBeNull();
    expect(await commandHandler('printf "[1, 2]\\n\\n  "')(task({}), context())).toEqual([1, 2]);
  });

  it('fails on a non-zero exit, keeping standard error, and may be retried', async () => {
    const err = await commandHandler('echo "warming up" >&2; echo "disk full" >&2; exit 3')(task({}), context()).catch((e) => e);
    expect(err).toMatchObject({
      code: 'ORC_WORKER_COMMAND_EXIT',
      retryable: true,
      details: { exitCode: 3, signal: null, stderr: 'warming up\ndisk full\n' },
    });
    expect(err.message).toContain('disk full');
  });

  it('keeps only the last 4 KiB of standard error', async () => {
    const err = await commandHandler(`node -e 'process.stderr.write("x".repeat(10000) + "THE END")'; exit 1`)(task({}), context()).catch((e) => e);
    expect(err.details.stderr).toHaveLength(4096);
    expect(err.details.stderr.endsWith('xTHE END')).toBe(true);
  });

  it('reports a command killed by a signal', async () => {
    const err = await commandHandler('kill -9 $$')(task({}), context()).catch((e) => e);
    expect(err).toMatchObject({ code: 'ORC_WORKER_COMMAND_EXIT', retryable: true, details: { exitCode: null, signal: 'SIGKILL' } });
  });

  it('fails for good on output that is not one JSON value, showing the start of it', async () => {
    const err = await commandHandler('echo "not json"')(task({}), context()).catch((e) => e);
    expect(err).toMatchObject({ code: 'ORC_WORKER_COMMAND_BAD_OUTPUT', retryable: false, details: { exitCode: 0, stdout: 'not json\n' } });
    const two = await commandHandler('echo 1; echo 2')(task({}), context()).catch((e) => e);
    expect(two).toMatchObject({ code: 'ORC_WORKER_COMMAND_BAD_OUTPUT' });
    const long = await commandHandler(`node -e 'process.stdout.write("y".repeat(5000))'`)(task({}), context()).catch((e) => e);
    expect(long.details.stdout).toHaveLength(1024);
  });

  it('kills the command and fails when it prints more than its limit', async () => {
    const err = await commandHandler('head -c 5000 /dev/zero; sleep 30', { maxOutputBytes: 1000 })(task({}), context()).catch((e) => e);
    expect(err).toMatchObject({ code: 'ORC_WORKER_COMMAND_BAD_OUTPUT', retryable: false, details: { signal: 'SIGKILL' } });
  });

  it('kills the whole process group when the timeout passes on its clock', async () => {
    const clock = new ManualClock();
    const pidFile = tempFile('child.pid');
    const running = commandHandler(`sleep 30 & echo $! > ${pidFile}; wait`, { timeoutMs: 60_000, clock })(task({}), context()).catch((e) => e);
    const child = await readPid(pidFile);
    await clock.advance(59_999);
    expect(alive(child)).toBe(true);
    await clock.advance(1);
    const err = await running;
    expect(err).toMatchObject({ code: 'ORC_WORKER_COMMAND_TIMEOUT', retryable: true, details: { exitCode: null, signal: 'SIGKILL' } });
    await until('the grandchild to die', () => !alive(child));
    expect(clock.pendingTimers).toBe(0);
  });

  it('kills the whole process group when the task is aborted, and rejects with the reason', async () => {
    const controller = new AbortController();
    const pidFile = tempFile('aborted.pid');
    const running = commandHandler(`sleep 30 & echo $! > ${pidFile}; wait`)(task({}), context(controller.signal));
    const child = await readPid(pidFile);
    const reason = new Error('cancelled');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    await until('the grandchild to die', () => !alive(child));
  });

  it('does not start at all for a task already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    const marker = tempFile('started');
    await expect(commandHandler(`touch ${marker}`)(task({}), context(controller.signal))).rejects.toThrow('too late');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('ends when the command exits, killing what it left running in the background', async () => {
    const pidFile = tempFile('leftover.pid');
    const clock = new ManualClock();
    // The background sleep holds the output pipe open; without the kill the handler would wait for it.
    const result = await commandHandler(`sleep 30 & echo $! > ${pidFile}; echo '{"ok":true}'`, { clock })(task({}), context());
    expect(result).toEqual({ ok: true });
    const leftover = Number(fs.readFileSync(pidFile, 'utf8'));
    await until('the leftover to die', () => !alive(leftover));
  });

  it('fails at its timeout even when a process that left its group holds the output open', async () => {
    const clock = new ManualClock();
    const pidFile = tempFile('escaped.pid');
    let settled = false;
    const shellPidFile = tempFile('shell.pid');
    const running = commandHandler(`echo $$ > ${shellPidFile}; ${escape(pidFile)}`, { timeoutMs: 4_000, clock })(task({}), context())
      .catch((e) => e)
      .finally(() => (settled = true));
    const escaped = await readPid(pidFile);
    try {
      const shell = await readPid(shellPidFile);
      await until('the command itself to exit', () => !alive(shell));
      expect(settled).toBe(false);
      await clock.advance(4_000);
      await until('the attempt to end', () => settled);
      expect(await running).toMatchObject({ code: 'ORC_WORKER_COMMAND_TIMEOUT', retryable: true });
      expect(clock.pendingTimers).toBe(0);
    } finally {
      process.kill(escaped, 'SIGKILL');
    }
  });

  it('rejects at once when aborted, even when a process that left its group holds the output open', async () => {
    const controller = new AbortController();
    const pidFile = tempFile('escaped-abort.pid');
    const running = commandHandler(`${escape(pidFile)}; sleep 1000`)(task({}), context(controller.signal));
    const escaped = await readPid(pidFile);
    try {
      const reason = new Error('lease lost');
      controller.abort(reason);
      await expect(running).rejects.toBe(reason);
    } finally {
      process.kill(escaped, 'SIGKILL');
    }
  });
});

describe('parseExecSpec', () => {
  it('splits KIND=COMMAND at the first equals sign', () => {
    expect(parseExecSpec('resize=convert a=b')).toEqual({ kind: 'resize', command: 'convert a=b' });
    expect(parseExecSpec(' score.v2 = ./score.sh ')).toEqual({ kind: 'score.v2', command: './score.sh' });
  });

  it.each([
    ['no-equals', 'no "=" found'],
    ['=cat', 'the kind before "=" is empty'],
    ['Bad Kind=cat', 'kind "Bad Kind" must be lower-case'],
    ['kind=', 'the command after "=" is empty'],
    ['kind=   ', 'the command after "=" is empty'],
  ])('refuses %j, naming the problem', (spec, message) => {
    expect(() => parseExecSpec(spec)).toThrow(expect.objectContaining({ code: 'ORC_CLI_BAD_ARGUMENT', message: expect.stringContaining(message) }));
  });
});
