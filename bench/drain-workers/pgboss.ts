/**
 * A pg-boss worker process. Drain: a loop that fetches up to `concurrency`
 * jobs at once, runs their no-op handlers together and completes them in one
 * call, fetching again at once while jobs come back and after pg-boss's
 * minimum polling interval (0.5 s) when none did. Latency: `work()` with that
 * minimum polling interval, one job per fetch.
 */
import PgBoss from 'pg-boss';
import { reportStart, serve, workerArgs } from './control.js';

const POLL_MS = 500;

const args = workerArgs();
const boss = new PgBoss({ connectionString: args.databaseUrl, schema: args.schema, supervise: false, schedule: false, migrate: false });
boss.on('error', (err) => console.error('pg-boss:', err));
await boss.start();

let running = false;
let loop: Promise<void> | undefined;

async function drain(): Promise<void> {
  while (running) {
    const jobs = await boss.fetch<{ i: number }>(args.queue, { batchSize: args.concurrency });
    if (jobs.length === 0) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      continue;
    }
    await Promise.all(jobs.map(async () => null));
    await boss.complete(args.queue, jobs.map((j) => j.id));
  }
}

await serve({
  start: async () => {
    running = true;
    if (args.mode === 'drain') {
      loop = drain();
      loop.catch((err: unknown) => {
        console.error('pg-boss drain loop:', err);
        process.exit(1);
      });
    } else {
      await boss.work<{ i: number }>(args.queue, { pollingIntervalSeconds: POLL_MS / 1000, batchSize: 1 }, async (jobs) => {
        for (const job of jobs) reportStart(job.data.i);
      });
    }
  },
  stop: async () => {
    running = false;
    await loop?.catch(() => undefined);
    await boss.stop({ graceful: true, timeout: 2000 });
  },
});
