/**
 * Request/response over the bus next to a raw baseline in the same run: one
 * call at a time (p50/p99) and with many in flight (calls/s), on Redis and in
 * memory. Both sides of every call run in this process, so the figures count
 * the caller's and the responder's work alike.
 *
 * - Redis baseline: bare ioredis, no Orchestra code. The caller XADDs a request
 *   to a stream; the responder blocks on XREADGROUP (a consumer group), XADDs
 *   the reply to the caller's reply stream and XACKs; the caller's reader
 *   blocks on XREAD of that stream. It is the bus's own design minus the
 *   library: same round trips, same payload.
 * - Memory baseline: two microtask hops with JSON.stringify/parse of the same
 *   message, so the ratio is what the memory bus adds to that.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMessage, createResponse, silentLogger, systemClock, type Message } from '../src/protocol/index.js';
import { createMemoryBus, createRedisBus, MemoryBroker, type Bus } from '../src/bus/index.js';
import { ProcessTelemetry } from '../src/api/index.js';
import { fmt, percentile, printTable } from './stats.js';

/** As in a running process: every request's latency is counted for `/metrics`. */
const telemetry = new ProcessTelemetry();

export interface BusBenchOptions {
  /** Redis calls timed one at a time; the memory bus times four times as many. */
  calls: number;
  /** Untimed calls first, so JIT and connections are warm. */
  warmupCalls: number;
  /** Redis calls timed with `inFlight` outstanding; the memory bus times ten times as many. */
  throughputCalls: number;
  inFlight: number;
}

export interface BusBenchResult {
  redisP50Ratio: number;
  redisThroughputRatio: number;
  memoryCallsPerSec: number;
}

/** The targets this bench checks. */
const TARGETS = { redisP50Ratio: 1.5, redisThroughputRatio: 0.7, memoryCallsPerSec: 200_000 };
/** Raw and bus phases alternate this many times, so a drift of the shared machine weighs on both alike. */
const ROUNDS = 2;
/** The same as the bus's default `blockMs`. */
const BLOCK_MS = 2000;
const RAW_GROUP = 'raw';
const FIELD = 'm';

/** One way to make an echo call: a request whose response carries the same data back. */
interface EchoPath {
  call(i: number): Promise<unknown>;
  close(): Promise<void>;
}

/** The request the raw paths send: the fields and size of what the bus sends for `data: { i }`. */
function rawRequest(i: number, replyTo: string): { id: string; text: string } {
  const id = randomUUID();
  const text = JSON.stringify({
    type: 'request',
    id,
    from: 'bench',
    to: 'echo',
    correlationId: id,
    timestamp: systemClock.now(),
    action: 'echo',
    data: { i },
    replyTo,
  });
  return { id, text };
}

/** The raw responder's answer: what `createResponse` builds, by hand. */
function rawResponse(requestText: string): string {
  const request = JSON.parse(requestText) as { id: string; action: string; data: unknown; replyTo: string };
  const id = randomUUID();
  return JSON.stringify({
    type: 'response',
    id,
    from: 'echo',
    to: 'bench',
    correlationId: request.id,
    timestamp: systemClock.now(),
    action: request.action,
    data: request.data,
    replyTo: request.replyTo,
  });
}

type ReadReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

/**
 * Bare ioredis, four connections as a fair implementation needs: a command
 * connection and a blocking-read connection on each side, since a blocked
 * XREAD would hold up every command queued behind it. Plain ioredis defaults
 * (no auto-pipelining): the minimal client.
 *
 * The caller has one reply stream and one reader always blocked on it,
 * handing each reply to the call waiting for its correlation id: one call at
 * a time it is the lowest-latency design (the read is already waiting when
 * the reply lands), and with 64 in flight one read returns many replies,
 * where 64 callers each blocking on their own XREAD would need 64
 * connections. The responder reads up to 100 entries per XREADGROUP, sends
 * all their replies and one XACK in one pipeline, and reads again without
 * waiting for it, as the bus's reader goes on reading while handlers run.
 */
async function openRawRedis(redisUrl: string, prefix: string): Promise<EchoPath> {
  const requests = `${prefix}:raw:requests`;
  const replies = `${prefix}:raw:replies`;
  const callerCommands = new Redis(redisUrl);
  const callerReads = new Redis(redisUrl);
  const responderCommands = new Redis(redisUrl);
  const responderReads = new Redis(redisUrl);
  const connections = [callerCommands, callerReads, responderCommands, responderReads];
  const replyTo = randomUUID();
  const waiting = new Map<string, { resolve: (text: string) => void; reject: (err: unknown) => void }>();
  let stopped = false;
  const fail = (err: unknown) => {
    if (stopped) return;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };

  try {
    await responderCommands.xgroup('CREATE', requests, RAW_GROUP, '$', 'MKSTREAM');
  } catch (err) {
    for (const c of connections) c.disconnect();
    throw err;
  }

  const responder = (async () => {
    while (!stopped) {
      const reply = (await responderReads.xreadgroup('GROUP', RAW_GROUP, 'responder', 'COUNT', 100, 'BLOCK', BLOCK_MS, 'STREAMS', requests, '>')) as ReadReply;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) continue;
      const pipeline = responderCommands.pipeline();
      for (const [, fields] of entries) pipeline.xadd(replies, '*', FIELD, rawResponse(fields[1]!));
      pipeline.xack(requests, RAW_GROUP, ...entries.map(([id]) => id));
      pipeline
        .exec()
        .then((results) => {
          const failed = results?.find(([err]) => err)?.[0];
          if (failed) fail(failed);
        })
        .catch(fail);
    }
  })().catch(fail);

  // Created before the first read, so it can start from 0-0 and lose nothing.
  let lastId = '0-0';
  const reader = (async () => {
    while (!stopped) {
      const reply = (await callerReads.xread('COUNT', 100, 'BLOCK', BLOCK_MS, 'STREAMS', replies, lastId)) as ReadReply;
      for (const [id, fields] of reply?.[0]?.[1] ?? []) {
        lastId = id;
        const response = JSON.parse(fields[1]!) as { correlationId: string };
        const waiter = waiting.get(response.correlationId);
        waiting.delete(response.correlationId);
        waiter?.resolve(fields[1]!);
      }
    }
  })().catch(fail);

  return {
    async call(i) {
      const { id, text } = rawRequest(i, replyTo);
      const response = new Promise<string>((resolve, reject) => waiting.set(id, { resolve, reject }));
      await callerCommands.xadd(requests, '*', FIELD, text);
      return response;
    },
    async close() {
      stopped = true;
      // Disconnecting ends the blocked reads at once; their loops see `stopped` and end.
      for (const c of connections) c.disconnect();
      await Promise.all([responder, reader]);
    },
  };
}

/** Two Redis buses, as two processes would have: one answers on the inbox `echo`, the other asks. */
async function openRedisBusPath(redisUrl: string, prefix: string): Promise<EchoPath> {
  const open = () => createRedisBus({ url: redisUrl, prefix, clock: systemClock, logger: silentLogger, telemetry });
  const responder = await open();
  const caller = await open().catch(async (err) => {
    await responder.close();
    throw err;
  });
  return busPath(responder, caller);
}

/** Two memory buses on one broker. */
function openMemoryBusPath(): Promise<EchoPath> {
  const broker = new MemoryBroker();
  const open = () => createMemoryBus({ clock: systemClock, logger: silentLogger, broker, telemetry });
  return busPath(open(), open());
}

async function busPath(responder: Bus, caller: Bus): Promise<EchoPath> {
  try {
    await responder.subscribe({ inbox: 'echo' }, (request: Message) =>
      responder.send(createResponse(request, 'echo', { data: request.data }, systemClock.now())),
    );
  } catch (err) {
    await Promise.all([responder.close(), caller.close()]);
    throw err;
  }
  return {
    call: (i) => caller.request(createMessage({ type: 'request', from: 'bench', to: 'echo', action: 'echo', data: { i } }, systemClock.now())),
    close: async () => {
      await Promise.all([caller.close(), responder.close()]);
    },
  };
}

/** The memory baseline: the request and the response each cross one microtask, encoded and decoded as JSON. */
function openRawMemory(): Promise<EchoPath> {
  const replyTo = randomUUID();
  const waiting = new Map<string, (text: string) => void>();
  const receive = (text: string) => {
    const response = JSON.parse(text) as { correlationId: string };
    const resolve = waiting.get(response.correlationId);
    waiting.delete(response.correlationId);
    resolve?.(text);
  };
  const respond = (text: string) => {
    const reply = rawResponse(text);
    queueMicrotask(() => receive(reply));
  };
  return Promise.resolve({
    call: (i) =>
      new Promise<string>((resolve) => {
        const { id, text } = rawRequest(i, replyTo);
        waiting.set(id, resolve);
        queueMicrotask(() => respond(text));
      }),
    close: async () => undefined,
  });
}

/** Collects now, so one path does not pay for the garbage the previous one left (npm run bench passes --expose-gc). */
const collect = () => (globalThis as { gc?: () => void }).gc?.();

async function latencies(path: EchoPath, from: number, count: number): Promise<number[]> {
  collect();
  const samples: number[] = [];
  for (let i = from; i < from + count; i++) {
    const start = performance.now();
    await path.call(i);
    samples.push(performance.now() - start);
  }
  return samples;
}

/** `count` calls, `inFlight` at a time; returns elapsed ms. */
async function saturate(path: EchoPath, count: number, inFlight: number): Promise<number> {
  collect();
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) await path.call(next++);
    }),
  );
  return performance.now() - start;
}

interface Figures {
  sorted: number[];
  callsPerSec: number;
}

/**
 * Warms both paths, then alternates them: latency rounds first, then
 * throughput rounds, each path running alone while it is measured.
 */
async function compare(raw: EchoPath, lib: EchoPath, o: { calls: number; warmupCalls: number; throughputCalls: number; inFlight: number }): Promise<[Figures, Figures]> {
  const paths = [raw, lib];
  const samples: number[][] = [[], []];
  const elapsedMs = [0, 0];
  for (const path of paths) {
    await latencies(path, 0, o.warmupCalls);
    await saturate(path, o.warmupCalls, o.inFlight);
  }
  const perRound = Math.ceil(o.calls / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, path] of paths.entries()) samples[k]!.push(...(await latencies(path, round * perRound, perRound)));
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, path] of paths.entries()) elapsedMs[k]! += await saturate(path, Math.ceil(o.throughputCalls / ROUNDS), o.inFlight);
  }
  const figures = (k: number): Figures => ({
    sorted: samples[k]!.sort((a, b) => a - b),
    callsPerSec: (ROUNDS * Math.ceil(o.throughputCalls / ROUNDS)) / (elapsedMs[k]! / 1000),
  });
  return [figures(0), figures(1)];
}

async function withPaths<T>(open: [() => Promise<EchoPath>, () => Promise<EchoPath>], use: (raw: EchoPath, lib: EchoPath) => Promise<T>): Promise<T> {
  const raw = await open[0]();
  try {
    const lib = await open[1]();
    try {
      return await use(raw, lib);
    } finally {
      await lib.close();
    }
  } finally {
    await raw.close();
  }
}

/** Deletes every key under the prefix; SCAN rather than KEYS, since this Redis is shared. */
async function deleteKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl);
  let deleted = 0;
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 1000 }) as AsyncIterable<string[]>) {
      if (keys.length) deleted += await redis.del(...keys);
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

const us = (ms: number) => fmt(ms * 1000, 0);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

export async function busBench(redisUrl: string, options: BusBenchOptions): Promise<BusBenchResult> {
  // Unique per run, and everything under it is deleted at the end: this Redis is shared.
  const prefix = `bench-bus-${process.pid}-${randomUUID().slice(0, 8)}`;
  let redis: [Figures, Figures];
  try {
    redis = await withPaths([() => openRawRedis(redisUrl, prefix), () => openRedisBusPath(redisUrl, prefix)], (raw, lib) => compare(raw, lib, options));
  } finally {
    await deleteKeys(redisUrl, prefix);
  }
  const memoryOptions = { ...options, calls: 4 * options.calls, throughputCalls: 10 * options.throughputCalls, warmupCalls: 4 * options.warmupCalls };
  const memory = await withPaths([openRawMemory, openMemoryBusPath], (raw, lib) => compare(raw, lib, memoryOptions));

  const [rawRedis, redisBus] = redis;
  const [rawMemory, memoryBus] = memory;
  const result: BusBenchResult = {
    redisP50Ratio: percentile(redisBus.sorted, 50) / percentile(rawRedis.sorted, 50),
    redisThroughputRatio: redisBus.callsPerSec / rawRedis.callsPerSec,
    memoryCallsPerSec: memoryBus.callsPerSec,
  };
  const latencyRow = (name: string, f: Figures, base: Figures, target: string) => [
    name,
    us(percentile(f.sorted, 50)),
    us(percentile(f.sorted, 90)),
    us(percentile(f.sorted, 99)),
    fmt(percentile(f.sorted, 50) / percentile(base.sorted, 50), 2) + '×',
    target,
  ];
  printTable(
    `Bus request/response, one call at a time: ${fmt(options.calls)} Redis and ${fmt(memoryOptions.calls)} memory calls after a warm-up (µs)`,
    ['path', 'p50', 'p90', 'p99', 'p50 vs raw', 'target'],
    [
      latencyRow('raw ioredis: XADD → XREADGROUP → XADD + XACK → XREAD', rawRedis, rawRedis, ''),
      latencyRow('RedisBus request → subscribe handler → send response', redisBus, rawRedis, `≤ ${TARGETS.redisP50Ratio}×: ${verdict(result.redisP50Ratio <= TARGETS.redisP50Ratio)}`),
      latencyRow('raw in-process: 2 microtask hops + JSON', rawMemory, rawMemory, ''),
      latencyRow('MemoryBus request → subscribe handler → send response', memoryBus, rawMemory, ''),
    ],
  );
  const throughputRow = (name: string, calls: number, f: Figures, base: Figures, target: string) => [
    name,
    fmt(calls),
    fmt(f.callsPerSec),
    fmt((100 * f.callsPerSec) / base.callsPerSec, 0) + ' %',
    target,
  ];
  printTable(
    `Bus request/response throughput, ${options.inFlight} calls in flight`,
    ['path', 'calls', 'calls/s', 'vs raw', 'target'],
    [
      throughputRow('raw ioredis', options.throughputCalls, rawRedis, rawRedis, ''),
      throughputRow('RedisBus', options.throughputCalls, redisBus, rawRedis, `≥ ${TARGETS.redisThroughputRatio * 100} % of raw: ${verdict(result.redisThroughputRatio >= TARGETS.redisThroughputRatio)}`),
      throughputRow('raw in-process', memoryOptions.throughputCalls, rawMemory, rawMemory, ''),
      throughputRow('MemoryBus', memoryOptions.throughputCalls, memoryBus, rawMemory, `≥ ${fmt(TARGETS.memoryCallsPerSec)} calls/s: ${verdict(result.memoryCallsPerSec >= TARGETS.memoryCallsPerSec)}`),
    ],
  );
  console.log(
    `\nRedisBus p50 / raw p50: ${fmt(result.redisP50Ratio, 2)}×; RedisBus / raw throughput: ${fmt(100 * result.redisThroughputRatio, 0)} %; MemoryBus: ${fmt(result.memoryCallsPerSec)} calls/s`,
  );
  return result;
}
