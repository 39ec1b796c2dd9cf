/**
 * Register-to-handler-start latency on PostgreSQL + Redis, next to a raw
 * baseline in the same run: a bare INSERT, an XADD wake-up read by a blocked
 * XREAD, and a bare SKIP LOCKED claim, with no library code.
 */
import { Redis } from 'ioredis';
import { systemClock, createRng, silentLogger } from '../src/protocol/index.js';
import { migrate, openPostgres, type Db } from '../src/store/index.js';
import { TaskRegistry } from '../src/registry/index.js';
import { createRedisBus } from '../src/bus/index.js';
import { TaskWorker } from '../src/agents/index.js';
import { fmt, percentile, printTable } from './stats.js';

const RAW_CLAIM = `
UPDATE tasks SET status = 'RUNNING', attempt = attempt + 1, updated_at = now()
WHERE task_id IN (SELECT task_id FROM tasks WHERE status = 'PENDING' AND pending_dependencies = 0 AND kind = 'raw'
                  ORDER BY priority, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING task_id`;
const RAW_INSERT = `
INSERT INTO tasks (task_id, kind, status, payload, priority, max_attempts, run_at, created_at, updated_at)
VALUES ($1, 'raw', 'PENDING', '{}', 5, 3, now(), now(), now())`;

async function rawLatencies(db: Db, redisUrl: string, prefix: string, count: number): Promise<number[]> {
  const producer = new Redis(redisUrl);
  const consumer = new Redis(redisUrl);
  const key = `${prefix}:raw-wake`;
  const started = new Map<string, number>();
  const latencies: number[] = [];
  let lastId = '$';
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const reply = await consumer.xread('BLOCK', 200, 'STREAMS', key, lastId);
      if (!reply) continue;
      const entries = (reply as [string, [string, string[]][]][])[0]![1];
      lastId = entries.at(-1)![0];
      for (;;) {
        const rows = await db.query<{ task_id: string }>(RAW_CLAIM);
        if (!rows[0]) break;
        latencies.push(performance.now() - started.get(rows[0].task_id)!);
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < count; i++) {
    const id = `raw-${i}`;
    started.set(id, performance.now());
    await db.query(RAW_INSERT, [id]);
    await producer.xadd(key, 'MAXLEN', '~', 1000, '*', 'm', 'wake');
    while (latencies.length <= i) await new Promise((r) => setImmediate(r));
  }
  stop = true;
  await loop;
  await producer.del(key);
  producer.disconnect();
  consumer.disconnect();
  return latencies.sort((a, b) => a - b);
}

async function registryLatencies(db: Db, redisUrl: string, prefix: string, count: number): Promise<number[]> {
  const bus = await createRedisBus({ url: redisUrl, prefix, clock: systemClock, logger: silentLogger });
  const registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1), bus });
  const latencies: number[] = [];
  const worker = new TaskWorker({
    registry,
    bus,
    clock: systemClock,
    // Polls are rare here: what is measured is the wake-up path.
    config: { concurrency: 4, pollIntervalMs: 60_000, sweepIntervalMs: 0 },
    handlers: {
      bench: async (task) => {
        latencies.push(performance.now() - (task.payload as { t: number }).t);
        return null;
      },
    },
  });
  await worker.start();
  try {
    for (let i = 0; i < count; i++) {
      await registry.register({ kind: 'bench', payload: { t: performance.now() } });
      while (latencies.length <= i) await new Promise((r) => setImmediate(r));
    }
  } finally {
    await worker.stop({ graceMs: 1000 });
    await bus.close();
  }
  return latencies.sort((a, b) => a - b);
}

export async function latencyBench(databaseUrl: string, redisUrl: string, options: { count: number }): Promise<void> {
  const schema = `bench_latency_${process.pid}`;
  const prefix = `bench-latency-${process.pid}`;
  const db = await openPostgres({ url: databaseUrl, schema, poolSize: 8 });
  try {
    await migrate(db, systemClock.now());
    const raw = await rawLatencies(db, redisUrl, prefix, options.count);
    const reg = await registryLatencies(db, redisUrl, prefix, options.count);
    printTable(
      `Register to handler start, PostgreSQL + Redis, ${fmt(options.count)} tasks one at a time (ms)`,
      ['path', 'p50', 'p90', 'p99'],
      [
        ['raw INSERT + XADD/XREAD + SKIP LOCKED claim', fmt(percentile(raw, 50), 2), fmt(percentile(raw, 90), 2), fmt(percentile(raw, 99), 2)],
        ['registry + Redis bus + worker', fmt(percentile(reg, 50), 2), fmt(percentile(reg, 90), 2), fmt(percentile(reg, 99), 2)],
      ],
    );
    console.log(`\nregistry p50 / raw p50: ${fmt(percentile(reg, 50) / percentile(raw, 50), 2)}×`);
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
    // Leave nothing behind on a Redis others use.
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}
