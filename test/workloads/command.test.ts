import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterAll } from 'vitest';
import type { Task, TaskContext } from '../../src/protocol/index.js';
import { commandHandler, parseExecSpec } from '../../src/workloads/index.js';

const task = (payload: unknown): Task => ({
  taskId: 't-1',
  status: 'RUNNING',
  kind: 'work',
  payload: payload as Task['payload'],
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
});

const context = (signal = new AbortController().signal): TaskContext => ({ signal, workerId: 'w', attempt: 1 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-cmd-'));

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Running, as opposed to gone or a zombie waiting for a parent to reap it. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('external command handler', () => {
  it('passes the payload on stdin and returns the JSON it prints', async () => {
    const run = commandHandler(`node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s);console.log(JSON.stringify({sum:p.a+p.b, id:process.env.ORCHESTRA_TASK_ID}))})'`);
    expect(await run(task({ a: 2, b: 3 }), context())).toEqual({ sum: 5, id: 't-1' });
  });

  it('treats empty output as a null result', async () => {
    expect(await commandHandler('cat >/dev/null')(task({}), context())).toBeNull();
  });

  it('fails on a non-zero exit, keeping standard error', async () => {
    const err = await commandHandler('echo "disk full" >&2; exit 3')(task({}), context()).catch((e) => e);
    expect(err).toMatchObject({ code: 'ORC_WORKER_COMMAND_EXIT', retryable: true, details: { exitCode: 3, stderr: 'disk full\n' } });
    expect(err.message).toContain('disk full');
  });

  it('fails without retry on output that is not JSON', async () => {
    const err = await commandHandler('echo "not json"')(task({}), context()).catch((e) => e);
    expect(err).toMatchObject({ code: 'ORC_WORKER_COMMAND_BAD_OUTPUT', retryable: false, details: { stdout: 'not json\n' } });
  });

  it('kills the whole process group when the timeout passes', async () => {
    const pidFile = path.join(dir, 'child.pid');
    const err = await commandHandler(`sleep 30 & echo $! > ${pidFile}; wait`, { timeoutMs: 300 })(task({}), context()).catch((e) => e);
    expect(err).toMatchObject({ code: 'ORC_WORKER_COMMAND_TIMEOUT' });
    const child = Number(fs.readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(child)).toBe(false);
  });

  it('kills the command when the task is aborted', async () => {
    const controller = new AbortController();
    const running = commandHandler('sleep 30')(task({}), context(controller.signal));
    const reason = new Error('cancelled');
    setTimeout(() => controller.abort(reason), 100);
    await expect(running).rejects.toBe(reason);
  });

  it('refuses output past its size limit', async () => {
    const err = await commandHandler('head -c 5000 /dev/zero', { maxOutputBytes: 1000 })(task({}), context()).catch((e) => e);
    expect(err).toMatchObject({ code: 'ORC_WORKER_COMMAND_BAD_OUTPUT' });
  });
});

describe('parseExecSpec', () => {
  it('splits KIND=COMMAND at the first equals sign', () => {
    expect(parseExecSpec('resize=convert a=b')).toEqual({ kind: 'resize', command: 'convert a=b' });
  });

  it.each([
    ['no-equals', 'must be KIND=COMMAND'],
    ['=cat', 'kind ""'],
    ['Bad Kind=cat', 'kind "Bad Kind"'],
    ['kind=', 'the command is empty'],
  ])('refuses %s', (spec, message) => {
    expect(() => parseExecSpec(spec)).toThrow(expect.objectContaining({ code: 'ORC_CLI_BAD_ARGUMENT', message: expect.stringContaining(message) }));
  });
});
