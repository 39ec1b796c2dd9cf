/**
 * The HTTP API next to a bare Fastify server doing the same store work, in
 * the same run: a task create and a task get (p50, p99, requests/s, with
 * `inFlight` requests outstanding), then Server-Sent Events fanned out to
 * 100 clients at 1,000 events/s, next to a bare `node:http` fan-out of the
 * same frames (delivery p50/p99, and this process's RSS, peak and growth
 * during the fan-out: it holds the server and the publisher; the clients run
 * in a process of their own).
 */
import http from 'node:http';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { createMessage, createRng, silentLogger, systemClock } from '../src/protocol/index.js';
import { migrate, openPostgres } from '../src/store/index.js';
import { TaskRegistry } from '../src/registry/index.js';
import { createMemoryBus } from '../src/bus/index.js';
import { createApiServer, createToken } from '../src/api/index.js';
import { fmt, percentile, printTable } from './stats.js';

export interface ApiBenchOptions {
  /** Requests timed per route and server. */
  requests: number;
  inFlight: number;
  sseClients: number;
  eventsPerSecond: number;
  sseSeconds: number;
}

interface Timing {
  p50: number;
  p99: number;
  perSec: number;
}

/** `count` requests, `inFlight` at a time, each timed. */
async function load(count: number, inFlight: number, request: (i: number) => Promise<void>): Promise<Timing> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await request(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), perSec: count / seconds };
}

/** The rounds' mean figures. */
function mean(rounds: Timing[]): Timing {
  const avg = (f: (t: Timing) => number) => rounds.reduce((sum, t) => sum + f(t), 0) / rounds.length;
  return { p50: avg((t) => t.p50), p99: avg((t) => t.p99), perSec: avg((t) => t.perSec) };
}

async function expectOk(res: Response, what: string): Promise<unknown> {
  const body = await res.json();
  if (!res.ok) throw new Error(`${what}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function apiBench(databaseUrl: string, options: ApiBenchOptions): Promise<void> {
  const schema = `bench_api_${process.pid}`;
  const db = await openPostgres({ url: databaseUrl, schema, poolSize: 10 });
  const bus = createMemoryBus({ clock: systemClock });
  const servers: { close(): Promise<unknown> }[] = [];
  try {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await migrate(db, systemClock.now());
    const registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1) });
    const { token } = await createToken(db, { name: 'bench', role: 'admin' }, systemClock.now());
    const auth = { authorization: `Bearer ${token}` };

    const api = await createApiServer({ db, registry, clock: systemClock, bus, logger: silentLogger }, { rateLimitPerMinute: 10_000_000 });
    servers.push(api);
    await api.listen({ host: '127.0.0.1', port: 0 });
    const apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;

    // The baseline: the same registry calls behind bare routes, without tokens, schemas or error mapping.
    const bare = Fastify({ logger: false });
    servers.push(bare);
    bare.post('/tasks', async (request, reply) => reply.code(201).send({ tasks: [(await registry.register(request.body as never)).task] }));
    bare.get('/tasks/:id', async (request) => {
      const task = await registry.get((request.params as { id: string }).id);
      return { task, lateReports: await registry.lateReports(task.taskId) };
    });
    await bare.listen({ host: '127.0.0.1', port: 0 });
    const bareUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}`;

    const body = JSON.stringify({ kind: 'bench', payload: { n: 1 } });
    const json = { 'content-type': 'application/json' };
    const ids: Record<'api' | 'bare', string[]> = { api: [], bare: [] };
    const create = {
      api: async () => void ids.api.push(((await expectOk(await fetch(`${apiUrl}/api/tasks`, { method: 'POST', headers: { ...auth, ...json }, body }), 'create')) as { tasks: { taskId: string }[] }).tasks[0]!.taskId),
      bare: async () => void ids.bare.push(((await expectOk(await fetch(`${bareUrl}/tasks`, { method: 'POST', headers: json, body }), 'bare create')) as { tasks: { taskId: string }[] }).tasks[0]!.taskId),
    };
    const get = {
      api: async (i: number) => void (await expectOk(await fetch(`${apiUrl}/api/tasks/${ids.api[i % ids.api.length]}`, { headers: auth }), 'get')),
      bare: async (i: number) => void (await expectOk(await fetch(`${bareUrl}/tasks/${ids.bare[i % ids.bare.length]}`), 'bare get')),
    };
    // Warm both up, then alternate, so a drift of the shared machine weighs on both alike.
    await load(200, options.inFlight, () => create.bare());
    await load(200, options.inFlight, () => create.api());
    // Two rounds in opposite orders, half the requests each: neither side always runs second, on a warmer machine.
    const results: Record<string, Timing> = {};
    for (const op of ['create', 'get'] as const) {
      const rounds: Record<'bare' | 'api', Timing[]> = { bare: [], api: [] };
      for (const order of [['bare', 'api'], ['api', 'bare']] as const) {
        for (const side of order) rounds[side].push(await load(Math.ceil(options.requests / 2), options.inFlight, (i) => (op === 'create' ? create[side]() : get[side](i))));
      }
      for (const side of ['bare', 'api'] as const) results[`${op} ${side}`] = mean(rounds[side]);
    }
    const rows = (['create', 'get'] as const).flatMap((op) => {
      const b = results[`${op} bare`]!;
      const a = results[`${op} api`]!;
      return [
        [`${op}: bare Fastify`, fmt(b.p50, 2), fmt(b.p99, 2), fmt(b.perSec), '1.00'],
        [`${op}: Orchestra API`, fmt(a.p50, 2), fmt(a.p99, 2), fmt(a.perSec), fmt(a.perSec / b.perSec, 2)],
      ];
    });
    printTable(`HTTP API: task create and get on PostgreSQL, ${options.requests} requests each, ${options.inFlight} in flight`, ['route', 'p50 ms', 'p99 ms', 'requests/s', 'vs bare'], rows);

    const sse = [
      await fanOut('bare node:http', options, async () => {
        const clients = new Set<http.ServerResponse>();
        const server = http.createServer((req, res) => {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          res.flushHeaders();
          clients.add(res);
          res.on('close', () => clients.delete(res));
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        let n = 0;
        return {
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
          token: '',
          publish: (data) => {
            const frame = `id: ${++n}\nevent: bench\ndata: ${JSON.stringify({ action: 'bench', topic: 'experiments', data })}\n\n`;
            for (const res of clients) res.write(frame);
          },
          close: () => new Promise<void>((resolve) => {
            for (const res of clients) res.end();
            server.close(() => resolve());
          }),
        };
      }),
      await fanOut('Orchestra /events', options, async () => ({
        url: `${apiUrl}/events?topics=experiments`,
        token,
        publish: (data) => void bus.publish('experiments', createMessage({ type: 'event', from: 'bench', to: null, action: 'bench', data }, systemClock.now())),
        close: async () => undefined,
      })),
    ];
    printTable(
      `Server-Sent Events: ${options.eventsPerSecond} events/s for ${options.sseSeconds} s to ${options.sseClients} clients (clients in another process)`,
      ['server', 'delivered', 'p50 ms', 'p99 ms', 'RSS MB, peak', 'RSS growth MB'],
      sse.map((r) => [r.name, `${fmt(r.delivered)} / ${fmt(r.expected)}`, fmt(r.p50, 1), fmt(r.p99, 1), fmt(r.rssMb), fmt(r.rssGrowthMb, 1)]),
    );
    console.log(`\nOrchestra /events delivery p99: ${fmt(sse[1]!.p99 / sse[0]!.p99, 2)}× the bare fan-out's`);
  } finally {
    for (const s of servers.reverse()) await s.close();
    await bus.close();
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db.close();
  }
}

interface Publisher {
  url: string;
  token: string;
  publish(data: { sentAt: number; n: number; pad: string }): void;
  close(): Promise<void>;
}

/** Connects the clients, publishes at the rate for the time, and collects what they measured. */
async function fanOut(name: string, options: ApiBenchOptions, open: () => Promise<Publisher>) {
  const publisher = await open();
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'sse-clients.mjs'), publisher.url, publisher.token, String(options.sseClients)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  while (!out.includes(`open ${options.sseClients}\n`)) await new Promise((r) => setTimeout(r, 20));
  // Give the last streams time to be attached server-side.
  await new Promise((r) => setTimeout(r, 200));
  const total = options.eventsPerSecond * options.sseSeconds;
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((options.eventsPerSecond * tickMs) / 1000));
  const now = () => performance.timeOrigin + performance.now();
  const rssBefore = process.memoryUsage().rss;
  let rss = rssBefore;
  let sent = 0;
  const start = performance.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * options.eventsPerSecond) + perTick);
    for (; sent < due; sent++) publisher.publish({ sentAt: now(), n: sent, pad: 'x'.repeat(100) });
    rss = Math.max(rss, process.memoryUsage().rss);
    await new Promise((r) => setTimeout(r, tickMs));
  }
  // Let the last frames arrive.
  await new Promise((r) => setTimeout(r, 500));
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin.end();
  await done;
  await publisher.close();
  const measured = JSON.parse(out.slice(out.indexOf('{'))) as { delivered: number; p50: number; p99: number };
  return { name, ...measured, expected: total * options.sseClients, rssMb: rss / 2 ** 20, rssGrowthMb: (rss - rssBefore) / 2 ** 20 };
}
