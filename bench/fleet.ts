/**
 * A fleet of simulated bots long-polling one server on loopback, next to a
 * bare Fastify server doing the same store work, in the same run: the bots
 * (in a process of their own) register, heartbeat on the fleet's interval,
 * long-poll for tests, and report each at once. Orchestra's side is the API's
 * bot protocol with a running bot agent handing tests out by its formula;
 * the bare side claims from the shared queue with the registry's own claim
 * (no tokens, no schemas, no fleet), polling the store on the same interval.
 * Reported: heartbeat, claim (answered with tests) and report latency
 * p50/p99, tests per second through the fleet, and this process's RSS.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { createRng, silentLogger, systemClock, TEST_BACKLOG_KIND } from '../src/protocol/index.js';
import { migrate, openPostgres, registerBot, recordHeartbeat, type Db } from '../src/store/index.js';
import { TaskRegistry } from '../src/registry/index.js';
import { createMemoryBus } from '../src/bus/index.js';
import { BotAgent } from '../src/agents/index.js';
import { createApiServer, createToken } from '../src/api/index.js';
import { fmt, printTable } from './stats.js';

export interface FleetBenchOptions {
  bots: number[];
  seconds: number;
  heartbeatMs: number;
}

interface Side {
  name: string;
  heartbeats: { count: number; p50: number; p99: number };
  claims: { count: number; p50: number; p99: number };
  reports: { count: number; p50: number; p99: number };
  completed: number;
  errors: number;
  firstError: string | null;
  perSec: number;
  rssMb: number;
}

const POLL_INTERVAL_MS = 250;

/** Keeps `depth` tests waiting in `kind`, registering more as the bots take them. */
function feeder(registry: TaskRegistry, kind: string, depth: number): { stop(): Promise<void> } {
  let stopped = false;
  let n = 0;
  const loop = (async () => {
    while (!stopped) {
      const waiting = (await registry.unfinishedByKind([kind])).get(kind)!.pending;
      const missing = depth - waiting;
      for (let i = 0; i < missing; i += 1000) {
        const batch = Array.from({ length: Math.min(1000, missing - i) }, () => {
          const t = n++;
          return { kind, payload: { workload: 'bench', studyId: 'bench', key: `k${t}`, variables: { x: t }, trial: t, generation: 0 } };
        });
        await registry.registerMany(batch);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Runs the bots against `url` for the time given; returns their figures and the server process's RSS. */
async function drive(mode: 'orchestra' | 'bare', url: string, token: string, bots: number, options: FleetBenchOptions): Promise<Omit<Side, 'name'>> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'fleet-bots.mjs'), mode, url, token, String(bots), String(options.heartbeatMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  while (!out.includes(`ready ${bots}\n`)) {
    if (child.exitCode !== null) throw new Error(`the ${mode} bots exited before they were ready`);
    await new Promise((r) => setTimeout(r, 20));
  }
  let rss = process.memoryUsage().rss;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 200);
  const start = performance.now();
  await new Promise((r) => setTimeout(r, options.seconds * 1000));
  child.stdin.end();
  while (!out.trimEnd().endsWith('}')) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  await exited;
  const figures = JSON.parse(out.trim().split('\n').at(-1)!) as Omit<Side, 'name' | 'perSec' | 'rssMb'>;
  return { ...figures, perSec: figures.completed / seconds, rssMb: rss / 1024 / 1024 };
}

async function orchestraSide(db: Db, bots: number, options: FleetBenchOptions): Promise<Side> {
  const bus = createMemoryBus({ clock: systemClock });
  const registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1), bus });
  // No silence is long enough to restart a bot during the run; tests are handed out as often as bots free slots.
  const fleet = { heartbeatIntervalMs: options.heartbeatMs, heartbeatTimeoutMs: 600_000, checkIntervalMs: POLL_INTERVAL_MS };
  const agent = new BotAgent({ bus, clock: systemClock, db, registry, fleet, logger: silentLogger });
  const api = await createApiServer({ db, registry, clock: systemClock, bus, fleet, logger: silentLogger }, { rateLimitPerMinute: 10_000_000, botRateLimitPerMinute: 10_000_000, botPollIntervalMs: POLL_INTERVAL_MS, tokenRecheckMs: 60_000 });
  const feed = feeder(registry, TEST_BACKLOG_KIND, bots * 3);
  try {
    await agent.start();
    await api.listen({ host: '127.0.0.1', port: 0 });
    const { token } = await createToken(db, { name: 'bench fleet', role: 'bot' }, systemClock.now());
    const figures = await drive('orchestra', `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`, token, bots, options);
    return { name: 'Orchestra bot protocol', ...figures };
  } finally {
    await feed.stop();
    await api.close();
    await agent.stop();
    await bus.close();
  }
}

async function bareSide(db: Db, bots: number, options: FleetBenchOptions): Promise<Side> {
  const registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(2) });
  const kind = 'bare';
  const app = Fastify({ logger: false });
  app.post('/register/:id', async (request) => {
    await registerBot(db, { botId: (request.params as { id: string }).id, deviceId: 'bench', role: 'tester', group: 'default' }, systemClock.now());
    return { token: '' };
  });
  app.post('/heartbeat/:id', async (request) => {
    await recordHeartbeat(db, (request.params as { id: string }).id, systemClock.now());
    return { ok: true };
  });
  // The same long poll: claim, and if nothing, ask the store again on the interval until 5 s passed.
  app.post('/claim/:id', async (request) => {
    const { free } = request.body as { free: number };
    const until = performance.now() + 5_000;
    for (;;) {
      const tasks = await registry.claim({ kinds: [kind], workerId: `bare:${(request.params as { id: string }).id}`, limit: free });
      if (tasks.length > 0 || performance.now() >= until) return { tasks };
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    }
  });
  app.post('/complete/:taskId', async (request) => {
    const { attempt, result } = request.body as { attempt: number; result: never };
    return registry.complete({ taskId: (request.params as { taskId: string }).taskId, attempt, result });
  });
  const feed = feeder(registry, kind, bots * 3);
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const figures = await drive('bare', `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, '', bots, options);
    return { name: 'bare Fastify, shared queue', ...figures };
  } finally {
    await feed.stop();
    await app.close();
  }
}

export async function fleetBench(databaseUrl: string, options: FleetBenchOptions): Promise<void> {
  for (const bots of options.bots) {
    const sides: Side[] = [];
    for (const run of [bareSide, orchestraSide]) {
      const schema = `bench_fleet_${process.pid}`;
      const db = await openPostgres({ url: databaseUrl, schema, poolSize: 20 });
      try {
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await migrate(db, systemClock.now());
        sides.push(await run(db, bots, options));
      } finally {
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
        await db.close();
      }
    }
    const [bare, orchestra] = sides as [Side, Side];
    const ms = (f: { p50: number; p99: number }) => `${fmt(f.p50, 1)} / ${fmt(f.p99, 1)}`;
    printTable(
      `Fleet: ${bots} simulated bots long-polling one server for ${options.seconds} s, heartbeat every ${options.heartbeatMs} ms (bots in another process)`,
      ['server', 'heartbeat p50/p99 ms', 'claim with tests p50/p99 ms', 'report p50/p99 ms', 'tests/s', 'vs bare', 'RSS MB, peak', 'errors'],
      sides.map((s) => [s.name, ms(s.heartbeats), ms(s.claims), ms(s.reports), fmt(s.perSec), fmt(s.perSec / bare.perSec, 2), fmt(s.rssMb), s.errors ? `${s.errors}: ${s.firstError}` : '0']),
    );
    console.log(`\n${bots} bots: Orchestra moves ${fmt(orchestra.perSec / bare.perSec, 2)}× the bare server's tests per second`);
  }
}
