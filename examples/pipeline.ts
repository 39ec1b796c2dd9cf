/**
 * A two-step pipeline: a `count_words` task, and a `report` task that depends
 * on it. The registry holds the report back until the count completed; its
 * handler then reads the count's result from its dependencies.
 *
 *   node --import tsx examples/pipeline.ts
 */
import { createOrchestra, IN_MEMORY, TaskWorker, type Task, type TaskHandler } from 'orchestra-runtime';

const countWords: TaskHandler = async (task) => {
  const { text } = task.payload as { text: string };
  return { words: text.split(/\s+/).filter(Boolean).length };
};

const report: TaskHandler = async (task, context) => {
  const [count] = await context.dependencies();
  const { words } = count!.result as { words: number };
  const { title } = task.payload as { title: string };
  return { line: `${title}: ${words} words` };
};

const orchestra = await createOrchestra({ store: { dataDir: IN_MEMORY } });
const worker = new TaskWorker({
  registry: orchestra.registry,
  bus: orchestra.bus,
  clock: orchestra.clock,
  handlers: { count_words: countWords, report },
});
try {
  // Registered together, all or nothing; the caller's ids let one task name another.
  const [first, second] = await orchestra.registry.registerMany([
    { taskId: 'count-1', kind: 'count_words', payload: { text: 'tasks wait for the results they need' } },
    { kind: 'report', payload: { title: 'sentence' }, dependsOn: ['count-1'] },
  ]);
  console.log(`registered ${first!.task.kind} and ${second!.task.kind} (${second!.task.status}, waiting for ${first!.task.taskId})`);

  const reported = new Promise<Task>((resolve) => {
    worker.on('task_completed', (task) => {
      if (task.taskId === second!.task.taskId) resolve(task);
    });
  });
  await worker.start();
  await reported;

  for (const task of await orchestra.registry.getMany([first!.task.taskId, second!.task.taskId])) {
    console.log(`${task.kind}: ${task.status} ${JSON.stringify(task.result)}`);
  }
} finally {
  await worker.stop();
  await orchestra.close();
}
