/**
 * An Orchestra worker process, assembled as `orchestra worker` assembles one
 * (createOrchestra on PostgreSQL + the Redis bus, then a TaskWorker), with a
 * no-op handler for kind `noop` in place of an external command.
 */
import { createOrchestra, TaskWorker } from '../../src/index.js';
import { reportStart, serve, workerArgs } from './control.js';

const args = workerArgs();
const orchestra = await createOrchestra({
  store: { databaseUrl: args.databaseUrl, schema: args.schema },
  bus: { redisUrl: args.redisUrl, prefix: args.prefix },
});
const latency = args.mode === 'latency';
const worker = new TaskWorker({
  registry: orchestra.registry,
  bus: orchestra.bus,
  clock: orchestra.clock,
  logger: orchestra.logger,
  config: { concurrency: args.concurrency },
  handlers: {
    noop: async (task) => {
      if (latency) reportStart((task.payload as { i: number }).i);
      return null;
    },
  },
});
await serve({
  start: () => worker.start(),
  stop: async () => {
    await worker.stop({ graceMs: 1000 });
    await orchestra.close();
  },
});
