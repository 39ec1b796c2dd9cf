import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { systemClock, createRng, silentLogger } from '../../src/protocol/index.js';
import { openPostgres, migrate, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createRedisBus, type Bus } from '../../src/bus/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';
import { startRedisServer } from '../support/redis-server.js';
import { spawnCli, waitFor, type CliProcess } from './processes.js';

/** Each task runs a process (`cat`): a thousand keep the run to tens of seconds on two cores. */
const TASKS = 1000;

describe('Redis restarted in the middle of a run', { timeout: 240_000 }, () => {
  let db: Db;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let bus: Bus;
  let registry: TaskRegistry;
  let configDir: string;
  const workers: CliProcess[] = [];
  const prefix = uniqueName('restart');

  beforeAll(async () => {
    redis = await startRedisServer();
    db = await openPostgres({ url: DATABASE_URL, schema: uniqueName('restart') });
    await migrate(db, systemClock.now());
    bus = await createRedisBus({ url: redis.url, prefix, clock: systemClock, logger: silentLogger });
    registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1), bus });
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-restart-'));
  });

  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await bus?.close();
    await redis?.stop();
    await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await db.close();
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  it('completes every task once, and the workers keep consuming without a restart of their own', async () => {
    // Workers poll only every 10 minutes: after the queue drains, only a wake-up
    // over the restarted Redis can bring them the second half of the work.
    const config = path.join(configDir, 'orchestra.config.json');
    fs.writeFileSync(config, JSON.stringify({ worker: { pollIntervalMs: 600_000 } }));
    const env = { DATABASE_URL, REDIS_URL: redis.url, ORCHESTRA_SCHEMA: db.schema, ORCHESTRA_PREFIX: prefix };
    for (const name of ['a', 'b']) {
      const worker = spawnCli(['worker', '--exec', 'echo=cat', '--concurrency', '8', '--config', config], { ...env, WORKER_NAME: name });
      workers.push(worker);
    }
    // A worker says it started once it has subscribed: the first wake-up reaches both.
    await waitFor('both workers to start', async () => workers.every((w) => w.output().includes('started')));

    const half = TASKS / 2;
    await registry.registerMany(Array.from({ length: half }, (_, i) => ({ kind: 'echo', payload: { i } })));
    await waitFor('a quarter of the work', async () => (await registry.counts()).byStatus.COMPLETED >= half / 2);

    await redis.restart();

    await waitFor('the first half', async () => (await registry.counts()).byStatus.COMPLETED === half);
    // The queue is empty and the workers idle: the second half reaches them only through the bus.
    await registry.registerMany(Array.from({ length: half }, (_, i) => ({ kind: 'echo', payload: { i: half + i } })));
    await waitFor('every task', async () => (await registry.counts()).byStatus.COMPLETED === TASKS);

    const counts = await registry.counts();
    expect(counts.byStatus).toMatchObject({ COMPLETED: TASKS, PENDING: 0, RUNNING: 0, FAILED: 0 });
    const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM late_reports`);
    expect(rows[0]!.n).toBe(0);
    const results = await db.query<{ ok: boolean }>(`SELECT bool_and(result = payload) AS ok FROM tasks`);
    expect(results[0]!.ok).toBe(true);
    const byWorker = await db.query<{ worker_id: string; n: number }>(`SELECT worker_id, count(*)::int AS n FROM tasks GROUP BY worker_id`);
    expect(byWorker).toHaveLength(2);
    for (const w of workers) expect(w.child.exitCode).toBeNull();

    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) expect(await w.exited).toBe(0);
  });
});
