/** A BullMQ worker process: one Worker with a no-op processor at the given concurrency. */
import { Worker } from 'bullmq';
import { redisConnection } from './redis-connection.js';
import { reportStart, serve, workerArgs } from './control.js';

const args = workerArgs();
const latency = args.mode === 'latency';
const worker = new Worker(
  args.queue,
  async (job) => {
    if (latency) reportStart((job.data as { i: number }).i);
    return null;
  },
  { connection: redisConnection(args.redisUrl), prefix: args.prefix, concurrency: args.concurrency, autorun: false },
);
worker.on('error', (err) => console.error('bullmq worker:', err));
await worker.waitUntilReady();
await serve({
  start: () => {
    worker.run().catch((err: unknown) => console.error('bullmq worker run:', err));
  },
  stop: () => worker.close(),
});
