/**
 * A worker with an in-process handler. It claims tasks of its kinds with a
 * lease, runs at most `concurrency` at once, and records each result; a
 * handler that throws is retried with backoff, one that throws a
 * `NonRetryableError` fails its task at once.
 *
 *   node --import tsx examples/worker.ts
 */
import { createOrchestra, IN_MEMORY, NonRetryableError, TaskWorker, type TaskHandler } from 'orchestra-runtime';

const thumbnail: TaskHandler = async (task, context) => {
  const { width, height } = task.payload as { width: number; height: number };
  if (width <= 0 || height <= 0) throw new NonRetryableError(`cannot scale a ${width}×${height} image`);
  // A long handler watches `context.signal`: it is aborted on cancellation, a lost lease or shutdown.
  context.signal.throwIfAborted();
  const scale = 128 / Math.max(width, height);
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
};

const orchestra = await createOrchestra({ store: { dataDir: IN_MEMORY } });
const worker = new TaskWorker({
  registry: orchestra.registry,
  bus: orchestra.bus,
  clock: orchestra.clock,
  handlers: { thumbnail },
  config: { concurrency: 2 },
});
try {
  const sizes = [
    { width: 1024, height: 768 },
    { width: 300, height: 600 },
    { width: 0, height: 10 },
  ];
  const registered = await orchestra.registry.registerMany(sizes.map((payload) => ({ kind: 'thumbnail', payload })));
  const ids = registered.map((r) => r.task.taskId);

  let finished = 0;
  const allDone = new Promise<void>((resolve) => {
    const done = () => (++finished === ids.length ? resolve() : undefined);
    worker.on('task_completed', done);
    worker.on('task_failed', (_task, { retrying }) => (retrying ? undefined : done()));
  });
  await worker.start();
  await allDone;

  for (const task of await orchestra.registry.getMany(ids)) {
    const outcome = task.status === 'COMPLETED' ? JSON.stringify(task.result) : `${task.error?.code}: ${task.error?.message}`;
    console.log(`${JSON.stringify(task.payload)} → ${task.status} ${outcome}`);
  }
} finally {
  await worker.stop();
  await orchestra.close();
}
