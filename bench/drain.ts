/**
 * End-to-end drain: the same no-op tasks enqueued in batches of 1,000, then
 * drained by worker processes (concurrency 50 each), for BullMQ on Redis,
 * pg-boss on PostgreSQL and Orchestra on PostgreSQL + the Redis bus, next to
 * bare FOR UPDATE SKIP LOCKED loops on the same tasks table, and Orchestra
 * embedded (PGlite + memory bus, one process) next to the bare loop on PGlite.
 * Then register-to-handler-start latency, one task at a time, for the three
 * systems. Every system runs in every repetition, interleaved; the tables give
 * the median of the repetitions with min–max.
 *
 * `DRAIN_SYSTEMS=embedded,rawlite` (row keys of DRAIN_ROWS, and `latency` for
 * the latency rows) runs only those, and opens only what they need: the
 * embedded pair alone needs neither PostgreSQL nor Redis and takes about a
 * minute. `DRAIN_TASKS` and `DRAIN_REPETITIONS` override the counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import PgBoss from 'pg-boss';
import { createMemoryBus, createOrchestra, createRng, systemClock, TaskRegistry, TaskWorker, type Orchestra } from '../src/index.js';
import { migrate, openPglite, openPostgres, type Db } from '../src/store/index.js';
import { fmt, percentile, printTable } from './stats.js';
import { redisConnection } from './drain-workers/redis-connection.js';
import type { WorkerArgs } from './drain-workers/control.js';

export interface DrainBenchOptions {
  /** Tasks per drain. */
  tasks: number;
  repetitions: number;
  /** Tasks registered one at a time per system and repetition, for the latency rows. */
  latencySamples: number;
}

const ENQUEUE_BATCH = 1000;
const CONCURRENCY = 50;
const RAW_BATCH = 50;
const RAW_PG_CLIENTS = 4;
/** How often the bench asks a store or queue how many tasks are finished. */
const POLL_MS = 25;
const DRAIN_CAP_MS = 5 * 60_000;
const READY_CAP_MS = 60_000;
const LATENCY_CAP_MS = 10_000;
const LATENCY_WARMUP = 5;
const STOP_WAIT_MS = 6_000;
/** pg-boss's smallest polling interval, which its latency worker uses. */
const BOSS_POLL_MS = 500;

const RAW_CLAIM = `
SELECT task_id FROM tasks
WHERE status = 'PENDING' AND pending_dependencies = 0 AND kind = 'noop' AND run_at <= now()
ORDER BY priority, seq LIMIT $1 FOR UPDATE SKIP LOCKED`;
const RAW_COMPLETE = `UPDATE tasks SET status = 'COMPLETED', result = 'null'::jsonb, updated_at = now() WHERE task_id = ANY($1::text[])`;
const COUNT_FINISHED = `SELECT count(*)::int AS n FROM tasks WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED')`;
const COUNT_COMPLETED = `SELECT count(*)::int AS n FROM tasks WHERE status = 'COMPLETED'`;
const TRUNCATE = `TRUNCATE tasks, task_dependencies, late_reports`;

const version = (name: string) => (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function withCap<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, cap]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// Worker processes

/** Every worker process still running: killed, with its whole group, on any way out. */
const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}

/** One worker process (bench/drain-workers/<script>), in a process group of its own. */
class WorkerProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  private readonly exited: Promise<void>;
  /** Called with `i` when the worker says a handler started (latency mode). */
  onStart: ((i: number) => void) | undefined;

  constructor(
    readonly script: string,
    args: WorkerArgs,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'drain-workers', script), JSON.stringify(args)], {
      detached: true,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    live.add(this.child);
    this.child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', () => {
        live.delete(this.child);
        resolve();
      }),
    );
    this.ready = new Promise((resolve, reject) => {
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        if (line === 'ready') resolve();
        else if (line.startsWith('s ')) this.onStart?.(Number(line.slice(2)));
      });
      this.child.once('exit', (code, signal) => reject(new Error(`worker ${script} exited (${code ?? signal}) before it was ready`)));
      this.child.once('error', reject);
    });
    this.ready.catch(() => undefined);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  go(): void {
    this.child.stdin!.write('go\n');
  }

  /** Asks the worker to stop, waits a little, then kills its group whatever happened. */
  async stop(): Promise<void> {
    if (this.running) {
      this.child.stdin!.write('stop\n');
      await Promise.race([this.exited, sleep(STOP_WAIT_MS)]);
    }
    killGroup(this.child);
    live.delete(this.child);
  }
}

async function spawnWorkers(script: string, n: number, args: WorkerArgs): Promise<WorkerProcess[]> {
  return Array.from({ length: n }, () => new WorkerProcess(script, args));
}

// ---------------------------------------------------------------------------
// The systems, each able to give a fresh queue, fill it and count what is finished

interface Target {
  script: string;
  /** A fresh, empty queue (or tasks table); returns the worker arguments for it. */
  prepare(mode: WorkerArgs['mode']): Promise<WorkerArgs>;
  enqueue(count: number): Promise<void>;
  /** Sends one task carrying `i`, for the latency rows. */
  send(i: number): Promise<void>;
  /** Tasks finished (completed or failed), as the store or queue has them. */
  finished(): Promise<number>;
  /** Tasks completed. */
  completed(): Promise<number>;
  /** Removes the queue prepared last. */
  release(): Promise<void>;
}

function batches(count: number): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < count; start += ENQUEUE_BATCH) out.push(Array.from({ length: Math.min(ENQUEUE_BATCH, count - start) }, (_, k) => start + k));
  return out;
}

interface Names {
  base: string;
  databaseUrl: string;
  redisUrl: string;
  orchestraSchema: string;
  orchestraPrefix: string;
  bossSchema: string;
  bullPrefix: string;
}

function bullTarget(names: Names): Target {
  let queue: Queue | undefined;
  let n = 0;
  return {
    script: 'bullmq.ts',
    async prepare(mode) {
      const name = `drain-${++n}`;
      queue = new Queue(name, { connection: redisConnection(names.redisUrl), prefix: names.bullPrefix });
      await queue.waitUntilReady();
      return { mode, concurrency: CONCURRENCY, databaseUrl: names.databaseUrl, redisUrl: names.redisUrl, schema: '', prefix: names.bullPrefix, queue: name };
    },
    async enqueue(count) {
      for (const batch of batches(count)) await queue!.addBulk(batch.map((i) => ({ name: 'noop', data: { i } })));
    },
    async send(i) {
      await queue!.add('noop', { i });
    },
    async finished() {
      const c = await queue!.getJobCounts('completed', 'failed');
      return (c.completed ?? 0) + (c.failed ?? 0);
    },
    async completed() {
      return queue!.getCompletedCount();
    },
    async release() {
      if (!queue) return;
      const q = queue;
      queue = undefined;
      await q.obliterate({ force: true });
      await q.close();
    },
  };
}

function bossTarget(names: Names, boss: PgBoss): Target {
  let queue: string | undefined;
  let n = 0;
  const count = async (states: string) => {
    const rows = await boss.getDb().executeSql(`SELECT count(*)::int AS n FROM ${names.bossSchema}.job WHERE name = $1 AND state IN (${states})`, [queue]);
    return (rows.rows[0] as { n: number }).n;
  };
  return {
    script: 'pgboss.ts',
    async prepare(mode) {
      queue = `drain-${++n}`;
      await boss.createQueue(queue);
      return { mode, concurrency: CONCURRENCY, databaseUrl: names.databaseUrl, redisUrl: names.redisUrl, schema: names.bossSchema, prefix: '', queue };
    },
    async enqueue(total) {
      for (const batch of batches(total)) await boss.insert(batch.map((i) => ({ name: queue!, data: { i } })));
    },
    async send(i) {
      await boss.send(queue!, { i });
    },
    finished: () => count(`'completed', 'failed', 'cancelled'`),
    completed: () => count(`'completed'`),
    async release() {
      if (!queue) return;
      const q = queue;
      queue = undefined;
      // deleteQueue refuses a queue that still holds jobs.
      await boss.getDb().executeSql(`DELETE FROM ${names.bossSchema}.job WHERE name = $1`, [q]);
      await boss.deleteQueue(q);
    },
  };
}

function orchestraTarget(names: Names, orchestra: Orchestra): Target {
  const db = orchestra.store;
  const n = async (sql: string) => (await db.query<{ n: number }>(sql))[0]!.n;
  return {
    script: 'orchestra.ts',
    async prepare(mode) {
      await db.query(TRUNCATE);
      return { mode, concurrency: CONCURRENCY, databaseUrl: names.databaseUrl, redisUrl: names.redisUrl, schema: names.orchestraSchema, prefix: names.orchestraPrefix, queue: '' };
    },
    async enqueue(count) {
      for (const batch of batches(count)) await orchestra.registry.registerMany(batch.map((i) => ({ kind: 'noop', payload: { i } })));
    },
    async send(i) {
      await orchestra.registry.register({ kind: 'noop', payload: { i } });
    },
    finished: () => n(COUNT_FINISHED),
    completed: () => n(COUNT_COMPLETED),
    release: async () => {
      await db.query(TRUNCATE);
    },
  };
}

// ---------------------------------------------------------------------------
// Measurements

/** Tasks/s from "all workers ready" to "all finished", the workers in `processes` child processes. */
async function drainWithProcesses(target: Target, processes: number, count: number): Promise<number> {
  const args = await target.prepare('drain');
  const workers = await spawnWorkers(target.script, processes, args);
  try {
    await target.enqueue(count);
    await withCap(Promise.all(workers.map((w) => w.ready)), READY_CAP_MS, `starting ${processes} ${target.script} workers`);
    const start = performance.now();
    for (const w of workers) w.go();
    let end: number;
    for (;;) {
      const done = await target.finished();
      end = performance.now();
      if (done >= count) break;
      if (end - start > DRAIN_CAP_MS) throw new Error(`${target.script}: ${processes} workers finished ${done} of ${count} tasks in ${DRAIN_CAP_MS / 1000} s`);
      const dead = workers.find((w) => !w.running);
      if (dead) throw new Error(`${target.script}: a worker exited during the drain (${dead.child.exitCode ?? dead.child.signalCode}) with ${done} of ${count} tasks finished`);
      await sleep(POLL_MS);
    }
    await Promise.all(workers.map((w) => w.stop()));
    const completed = await target.completed();
    if (completed !== count) throw new Error(`${target.script}: ${completed} of ${count} tasks completed`);
    return (count / (end - start)) * 1000;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await target.release();
  }
}

/** Register-to-handler-start, one task at a time, the worker in one child process: sorted latencies in ms. */
async function latencyWithProcess(target: Target, samples: number, randomPauseMs = 0): Promise<number[]> {
  const args = await target.prepare('latency');
  const [worker] = await spawnWorkers(target.script, 1, args);
  try {
    await withCap(worker!.ready, READY_CAP_MS, `starting a ${target.script} worker`);
    worker!.go();
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_WARMUP + samples; i++) {
      const started = new Promise<number>((resolve) => {
        worker!.onStart = (j) => {
          if (j === i) resolve(performance.now());
        };
      });
      // A polling worker would otherwise always be found at the same point of its interval.
      if (randomPauseMs) await sleep(Math.random() * randomPauseMs);
      const sent = performance.now();
      await target.send(i);
      const at = await withCap(started, LATENCY_CAP_MS, `${target.script}: task ${i} waiting for its handler`);
      if (i >= LATENCY_WARMUP) latencies.push(at - sent);
    }
    return latencies.sort((a, b) => a - b);
  } finally {
    await worker!.stop();
    await target.release();
  }
}

/** The bare loop: one transaction claims up to `batch` tasks with SKIP LOCKED and completes them. */
async function rawLoop(db: Db, batch: number): Promise<number> {
  let done = 0;
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const rows = await tx.query<{ task_id: string }>(RAW_CLAIM, [batch]);
      if (rows.length) await tx.query(RAW_COMPLETE, [rows.map((r) => r.task_id)]);
      return rows.length;
    });
    if (n === 0) return done;
    done += n;
  }
}

async function fill(registry: TaskRegistry, count: number): Promise<void> {
  for (const batch of batches(count)) await registry.registerMany(batch.map((i) => ({ kind: 'noop', payload: { i } })));
}

async function checkCompleted(db: Db, count: number, what: string): Promise<void> {
  const completed = (await db.query<{ n: number }>(COUNT_COMPLETED))[0]!.n;
  if (completed !== count) throw new Error(`${what}: ${completed} of ${count} tasks completed`);
}

/** `clients` bare loops at once on `db`: tasks/s. */
async function rawDrain(db: Db, registry: TaskRegistry, clients: number, count: number, what: string): Promise<number> {
  await db.query(TRUNCATE);
  await fill(registry, count);
  const start = performance.now();
  const done = await withCap(Promise.all(Array.from({ length: clients }, () => rawLoop(db, RAW_BATCH))), DRAIN_CAP_MS, what);
  const ms = performance.now() - start;
  const total = done.reduce((a, b) => a + b, 0);
  if (total !== count) throw new Error(`${what}: drained ${total} of ${count}`);
  await checkCompleted(db, count, what);
  await db.query(TRUNCATE);
  return (count / ms) * 1000;
}

/** Orchestra embedded: one TaskWorker in this process; tasks/s from its start to the last completion it was told of. */
async function embeddedDrain(db: Db, registry: TaskRegistry, bus: ReturnType<typeof createMemoryBus>, count: number): Promise<number> {
  await db.query(TRUNCATE);
  await fill(registry, count);
  let completed = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const worker = new TaskWorker({ registry, bus, clock: systemClock, handlers: { noop: async () => null }, config: { concurrency: CONCURRENCY } });
  // Told only once the store has the result.
  worker.on('task_completed', () => {
    if (++completed === count) allDone();
  });
  worker.on('task_failed', () => {
    if (++completed === count) allDone();
  });
  const start = performance.now();
  try {
    await worker.start();
    await withCap(finished, DRAIN_CAP_MS, 'Orchestra embedded drain');
    const ms = performance.now() - start;
    await worker.stop({ graceMs: 1000 });
    await checkCompleted(db, count, 'Orchestra embedded');
    return (count / ms) * 1000;
  } finally {
    await worker.stop({ graceMs: 0 });
    await db.query(TRUNCATE);
  }
}

// ---------------------------------------------------------------------------
// Cleanup

async function deleteRedisKeys(redisUrl: string, pattern: string): Promise<number> {
  const redis = new Redis(redisUrl);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

async function dropSchemas(databaseUrl: string, schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------

interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

const range = (s: Spread, digits = 0) => `${fmt(s.min, digits)} – ${fmt(s.max, digits)}`;

const DRAIN_ROWS = [
  ['bull1', 'BullMQ 5, Redis', '1 process × 50'],
  ['bull2', 'BullMQ 5, Redis', '2 processes × 50'],
  ['boss1', 'pg-boss 10, PostgreSQL (fetch 50, complete 50)', '1 process × 50'],
  ['boss2', 'pg-boss 10, PostgreSQL (fetch 50, complete 50)', '2 processes × 50'],
  ['orc1', 'Orchestra, PostgreSQL + Redis bus', '1 process × 50'],
  ['orc2', 'Orchestra, PostgreSQL + Redis bus', '2 processes × 50'],
  ['rawpg', 'bare SKIP LOCKED loop, PostgreSQL (batch 50)', `${RAW_PG_CLIENTS} connections, bench process`],
  ['embedded', 'Orchestra embedded, PGlite + memory bus', '1 worker × 50, bench process'],
  ['rawlite', 'bare SKIP LOCKED loop, PGlite (batch 50)', '1 loop, bench process'],
] as const;
type DrainRow = (typeof DRAIN_ROWS)[number][0];

const LATENCY_ROWS = [
  ['orc', 'Orchestra, PostgreSQL + Redis bus (wake-up on the bus)'],
  ['bull', 'BullMQ 5, Redis'],
  ['boss', 'pg-boss 10, work() polling every 0.5 s (its minimum), each task sent at a random point of the interval'],
] as const;
type LatencyRow = (typeof LATENCY_ROWS)[number][0];

/** The systems DRAIN_SYSTEMS names (every one when unset), checked against the rows. */
function selectedSystems(): Set<string> {
  const all = [...DRAIN_ROWS.map(([key]) => key), 'latency'];
  const given = process.env.DRAIN_SYSTEMS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!given?.length) return new Set(all);
  const unknown = given.filter((s) => !all.includes(s));
  if (unknown.length) throw new Error(`DRAIN_SYSTEMS: unknown ${unknown.join(', ')} (known: ${all.join(', ')})`);
  return new Set(given);
}

const positiveEnv = (name: string): number | undefined => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not ${raw}`);
  return n;
};

export async function drainBench(databaseUrl: string, redisUrl: string, given: DrainBenchOptions): Promise<void> {
  const options = { ...given, tasks: positiveEnv('DRAIN_TASKS') ?? given.tasks, repetitions: positiveEnv('DRAIN_REPETITIONS') ?? given.repetitions };
  const selected = selectedSystems();
  const wantsLite = selected.has('embedded') || selected.has('rawlite');
  // Everything but the embedded pair runs against PostgreSQL and Redis.
  const wantsServers = [...selected].some((s) => s !== 'embedded' && s !== 'rawlite');
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const base = `bench-drain-${tag.replace('_', '-')}`;
  const names: Names = {
    base,
    databaseUrl,
    redisUrl,
    orchestraSchema: `bench_drain_${tag}`,
    orchestraPrefix: `${base}-orc`,
    bossSchema: `bench_drain_boss_${tag}`,
    bullPrefix: `${base}-bull`,
  };

  let orchestra: Orchestra | undefined;
  let boss: PgBoss | undefined;
  let rawPg: Db | undefined;
  let lite: Db | undefined;
  let liteBus: ReturnType<typeof createMemoryBus> | undefined;
  let cleaned: Promise<void> | undefined;
  let loadSummary = '';
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const child of live) killGroup(child);
      live.clear();
      const steps: [string, () => Promise<unknown>][] = [
        ['closing pg-boss', async () => boss?.stop({ graceful: false, wait: true, timeout: 2000 })],
        ['closing Orchestra', async () => orchestra?.close()],
        ['closing the bare PostgreSQL pool', async () => rawPg?.close()],
        ['closing PGlite', async () => (await liteBus?.close(), await lite?.close())],
        ['dropping schemas', async () => wantsServers && dropSchemas(databaseUrl, [names.orchestraSchema, names.bossSchema])],
        ['deleting Redis keys', async () => wantsServers && deleteRedisKeys(redisUrl, `${base}*`)],
      ];
      for (const [what, step] of steps) {
        await withCap(step(), 20_000, what).catch((err: unknown) => console.error(`drain bench cleanup: ${what} failed:`, err));
      }
    })());

  const onSignal = (signal: NodeJS.Signals) => {
    for (const child of live) killGroup(child);
    console.error(`\n${signal}: worker processes killed; cleaning up`);
    void withCap(cleanup(), 60_000, 'cleanup').finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const onExit = () => {
    for (const child of live) killGroup(child);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('exit', onExit);

  const drains = new Map<DrainRow, number[]>(DRAIN_ROWS.map(([key]) => [key, []]));
  const latencies = new Map<LatencyRow, { p50: number[]; p95: number[] }>(LATENCY_ROWS.map(([key]) => [key, { p50: [], p95: [] }]));

  try {
    if (wantsServers) {
      orchestra = await createOrchestra({ store: { databaseUrl, schema: names.orchestraSchema, poolSize: 4 }, bus: { redisUrl, prefix: names.orchestraPrefix } });
      boss = new PgBoss({ connectionString: databaseUrl, schema: names.bossSchema, supervise: false, schedule: false });
      boss.on('error', (err) => console.error('pg-boss (bench process):', err));
      await boss.start();
      rawPg = await openPostgres({ url: databaseUrl, schema: names.orchestraSchema, poolSize: RAW_PG_CLIENTS });
    }
    let liteRegistry: TaskRegistry | undefined;
    if (wantsLite) {
      lite = await openPglite({ dataDir: ':memory:', schema: 'orchestra' });
      await migrate(lite, systemClock.now());
      liteBus = createMemoryBus({ clock: systemClock });
      liteRegistry = new TaskRegistry({ db: lite, clock: systemClock, rng: createRng(1), bus: liteBus });
    }

    const bull = bullTarget(names);
    const pgBoss = boss && bossTarget(names, boss);
    const orc = orchestra && orchestraTarget(names, orchestra);
    const count = options.tasks;

    const loads: string[] = [];
    const load = () => os.loadavg().map((x) => fmt(x, 1)).join(' / ');
    for (let rep = 1; rep <= options.repetitions; rep++) {
      const t0 = performance.now();
      const loadBefore = load();
      const drainSteps = ([
        ['bull1', () => drainWithProcesses(bull, 1, count)],
        ['bull2', () => drainWithProcesses(bull, 2, count)],
        ['boss1', () => drainWithProcesses(pgBoss!, 1, count)],
        ['boss2', () => drainWithProcesses(pgBoss!, 2, count)],
        ['orc1', () => drainWithProcesses(orc!, 1, count)],
        ['orc2', () => drainWithProcesses(orc!, 2, count)],
        ['rawpg', () => rawDrain(rawPg!, orchestra!.registry, RAW_PG_CLIENTS, count, 'bare PostgreSQL loop')],
        ['embedded', () => embeddedDrain(lite!, liteRegistry!, liteBus!, count)],
        ['rawlite', () => rawDrain(lite!, liteRegistry!, 1, count, 'bare PGlite loop')],
      ] satisfies [DrainRow, () => Promise<number>][]).filter(([row]) => selected.has(row));
      const latencySteps = selected.has('latency') ? ([['orc', orc!, 0], ['bull', bull, 0], ['boss', pgBoss!, BOSS_POLL_MS]] as const) : [];
      // Every other repetition runs the systems in reverse order, so a load that rises or falls over the run favours none.
      const reverse = rep % 2 === 0;
      for (const [row, run] of reverse ? [...drainSteps].reverse() : drainSteps) {
        const perSec = await run();
        drains.get(row)!.push(perSec);
        console.log(`  rep ${rep}: ${row} ${fmt(perSec)} tasks/s`);
      }
      for (const [row, target, pauseMs] of reverse ? [...latencySteps].reverse() : latencySteps) {
        const sorted = await latencyWithProcess(target, options.latencySamples, pauseMs);
        const l = latencies.get(row)!;
        l.p50.push(percentile(sorted, 50));
        l.p95.push(percentile(sorted, 95));
        console.log(`  rep ${rep}: latency ${row} p50 ${fmt(percentile(sorted, 50), 2)} ms, p95 ${fmt(percentile(sorted, 95), 2)} ms`);
      }
      loads.push(`rep ${rep}: ${loadBefore} → ${load()}`);
      console.log(`  rep ${rep} took ${fmt((performance.now() - t0) / 1000)} s; load average (1/5/15 min) ${loads.at(-1)!.slice(7)}`);
    }
    loadSummary = loads.join('; ');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    await cleanup();
  }

  const reps = options.repetitions;
  console.log(`\nBullMQ ${version('bullmq')}, pg-boss ${version('pg-boss')}; ${os.availableParallelism()} cores, shared by the bench, its workers, PostgreSQL and Redis`);
  console.log(`load average (1/5/15 min) before → after each repetition: ${loadSummary}`);
  const d = new Map([...drains].map(([k, v]) => [k, spread(v)]));
  const med = (row: DrainRow) => d.get(row)!.median;
  printTable(
    `Drain: ${fmt(options.tasks)} no-op tasks enqueued in batches of ${fmt(ENQUEUE_BATCH)}, then drained (tasks/s from all workers ready to all finished; median of ${reps} interleaved repetition${reps > 1 ? 's' : ''})`,
    ['system', 'workers', 'tasks/s', 'min – max'],
    DRAIN_ROWS.filter(([key]) => selected.has(key)).map(([key, system, workers]) => [system, workers, fmt(med(key)), range(d.get(key)!)]),
  );
  console.log('');
  const ratio = (a: DrainRow, b: DrainRow, label: string) => {
    if (!selected.has(a) || !selected.has(b)) return;
    const perRep = drains.get(a)!.map((x, i) => fmt(x / drains.get(b)![i]!, 2));
    console.log(`${label}: ${fmt(med(a) / med(b), 2)}× (of the medians; per repetition ${perRep.join(', ')})`);
  };
  ratio('orc1', 'bull1', 'Orchestra / BullMQ, 1 process');
  ratio('orc2', 'bull2', 'Orchestra / BullMQ, 2 processes');
  ratio('orc1', 'boss1', 'Orchestra / pg-boss, 1 process');
  ratio('orc2', 'orc1', 'Orchestra 2 processes / 1 process');
  ratio('orc2', 'rawpg', `Orchestra 2 processes / bare PostgreSQL loop (${RAW_PG_CLIENTS} connections)`);
  ratio('embedded', 'rawlite', 'Orchestra embedded / bare PGlite loop');

  if (!selected.has('latency')) return;
  const l = new Map([...latencies].map(([k, v]) => [k, { p50: spread(v.p50), p95: spread(v.p95) }]));
  printTable(
    `Register to handler start, one task at a time, ${fmt(options.latencySamples)} tasks per repetition, worker in a child process (ms; median of ${reps} repetition${reps > 1 ? 's' : ''})`,
    ['system', 'p50', 'p50 min – max', 'p95', 'p95 min – max'],
    LATENCY_ROWS.map(([key, system]) => {
      const s = l.get(key)!;
      return [system, fmt(s.p50.median, 2), range(s.p50, 2), fmt(s.p95.median, 2), range(s.p95, 2)];
    }),
  );
}
