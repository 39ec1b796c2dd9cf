import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { ManualClock, createRng } from '../../src/protocol/index.js';
import { openStore, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createMemoryBus, type Bus } from '../../src/bus/index.js';
import { TaskWorker } from '../../src/agents/index.js';
import { commandHandler } from '../../src/workloads/index.js';
import { until } from '../agents/helpers.js';

describe('external commands run by a task worker', () => {
  let db: Db;
  let bus: Bus;
  let registry: TaskRegistry;
  let worker: TaskWorker;
  const clock = new ManualClock();

  beforeAll(async () => {
    db = (await openStore({ dataDir: ':memory:', schema: 'orchestra' }, clock.now())).db;
    bus = createMemoryBus({ clock });
    registry = new TaskRegistry({ db, clock, rng: createRng(1), bus });
    worker = new TaskWorker({
      registry,
      bus,
      clock,
      handlers: {
        square: commandHandler(`node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify({square:JSON.parse(s).n**2})))'`),
        broken: commandHandler('cat >/dev/null; echo "cannot open model.bin" >&2; exit 2'),
        // A result whose JSON holds U+0000, and standard error with a raw NUL byte.
        binary: commandHandler(`cat >/dev/null; printf '{"out": "a\\\\u0000b"}'`),
        noisy: commandHandler(`cat >/dev/null; printf 'bad\\000byte' >&2; exit 1`),
      },
      config: { concurrency: 2, sweepIntervalMs: 0 },
    });
    await worker.start();
  });

  afterAll(async () => {
    await worker.stop({ graceMs: 0 });
    await bus.close();
    await db.close();
  });

  it('stores what the command printed as the result', async () => {
    const { task } = await registry.register({ kind: 'square', payload: { n: 7 } });
    const done = await until('completion', async () => {
      const t = await registry.get(task.taskId);
      return t.status === 'COMPLETED' && t;
    });
    expect(done.result).toEqual({ square: 49 });
  });

  it("keeps a failing command's exit code and standard error in the task's error", async () => {
    const { task } = await registry.register({ kind: 'broken', maxAttempts: 1 });
    const failed = await until('the failure', async () => {
      const t = await registry.get(task.taskId);
      return t.status === 'FAILED' && t;
    });
    expect(failed.error).toMatchObject({
      code: 'ORC_WORKER_COMMAND_EXIT',
      retryable: true,
      attempt: 1,
      details: { exitCode: 2, signal: null, stderr: 'cannot open model.bin\n' },
    });
  });

  it('fails a task whose output holds U+0000 at once, naming the field, instead of running it until it times out', async () => {
    const { task } = await registry.register({ kind: 'binary', maxAttempts: 3 });
    const failed = await until('the failure', async () => {
      const t = await registry.get(task.taskId);
      return t.status === 'FAILED' && t;
    });
    expect(failed.error).toMatchObject({ code: 'ORC_PROTOCOL_UNSTORABLE_TEXT', attempt: 1, retryable: false, details: { field: 'result.out' } });
  });

  it('keeps standard error holding a NUL byte, with the byte replaced', async () => {
    const { task } = await registry.register({ kind: 'noisy', maxAttempts: 1 });
    const failed = await until('the failure', async () => {
      const t = await registry.get(task.taskId);
      return t.status === 'FAILED' && t;
    });
    expect(failed.error).toMatchObject({ code: 'ORC_WORKER_COMMAND_EXIT', details: { stderr: 'bad\ufffdbyte' } });
  });
});
