import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from 'vitest';
import { Redis } from 'ioredis';
import { createMessage, createResponse, encodeMessage, ManualClock, type Logger, type Message } from '../../src/protocol/index.js';
import { createRedisBus, redisKeys, RedisDeadLetters, INBOX_GROUP, type BusOptions, type RedisBus } from '../../src/bus/index.js';
import { startRedisServer, type PrivateRedis } from '../support/redis-server.js';
import { uniqueName } from '../support/env.js';
import { eventually, message, recordingLogger, within } from './support.js';

/** Short blocking reads, so a stalled read is noticed within a second. */
const FAST: BusOptions = { blockMs: 200, readGraceMs: 300, claimIdleMs: 200, claimIntervalMs: 1_000 };

describe('Redis bus under faults (a private redis-server)', () => {
  let redis: PrivateRedis;
  let client: Redis;
  let clock: ManualClock;
  let prefix: string;
  const buses: RedisBus[] = [];

  const make = async (options: BusOptions & { logger?: Logger } = {}, url = redis.url) => {
    const bus = await createRedisBus({ url, prefix, clock, ...FAST, ...options });
    buses.push(bus);
    return bus;
  };
  const command = (to: string, data: Message['data'] = {}) => message(clock, { type: 'command', action: 'do_work', to, data });

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    client.on('error', () => undefined);
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  beforeEach(() => {
    clock = new ManualClock();
    prefix = uniqueName('faults');
  });

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('gives a message a consumer took and never acknowledged to a live replica after claimIdleMs', async () => {
    const crashed = await make();
    let taken = 0;
    // Takes the message and never finishes: a process killed in the middle of it.
    await crashed.subscribe({ inbox: 'work' }, () => {
      taken++;
      return new Promise<void>(() => undefined);
    });
    const sender = await make();
    const sent = command('work');
    await sender.send(sent);
    await eventually('the first replica to take it', () => taken === 1);

    const live = await make();
    const got: Message[] = [];
    await live.subscribe({ inbox: 'work' }, (m) => void got.push(m));
    await crashed.close();

    // The claim runs on the clock's interval; Redis measures the idle time itself, in real time.
    await eventually('the live replica to claim it', async () => {
      await clock.advance(FAST.claimIntervalMs!);
      return got.length > 0;
    });
    expect(got.map((m) => m.id)).toEqual([sent.id]);
    await eventually('the claimed message to be acknowledged', async () => (await client.xlen(redisKeys(prefix).inbox('work'))) === 0);
  });

  it('dead-letters a message delivered maxDeliveries times without acknowledgement, instead of delivering it again', async () => {
    const key = redisKeys(prefix).inbox('poison');
    const sender = await make();
    await client.xgroup('CREATE', key, INBOX_GROUP, '0', 'MKSTREAM');
    const poison = command('poison', { poison: true });
    await sender.send(poison);
    // Two consumers took it in turn and died with it: delivered twice, never acknowledged.
    const read = (await client.xreadgroup('GROUP', INBOX_GROUP, 'died-1', 'COUNT', 1, 'STREAMS', key, '>')) as [string, [string, string[]][]][];
    const id = read[0]![1][0]![0];
    await client.xclaim(key, INBOX_GROUP, 'died-2', 0, id);

    const live = await make({ maxDeliveries: 2 });
    const got: Message[] = [];
    await live.subscribe({ inbox: 'poison' }, (m) => void got.push(m));
    const letters = new RedisDeadLetters(client, redisKeys(prefix).deadLetters);
    const [letter] = await eventually('the dead letter', async () => {
      await clock.advance(FAST.claimIntervalMs!);
      const list = await letters.list();
      return list.length ? list : null;
    });
    expect(letter).toMatchObject({ source: 'inbox:poison', code: 'ORC_BUS_MAX_DELIVERIES' });
    expect(letter!.reason).toMatch(/delivered 2 times without being acknowledged/);
    expect(JSON.parse(letter!.raw)).toEqual(poison);
    expect(got).toHaveLength(0);
    // Acknowledgements go out in batches at the end of a turn: the entry leaves the pending list just after.
    await eventually('the entry acknowledged', async () => Number(((await client.xpending(key, INBOX_GROUP)) as [number])[0]) === 0);
  });

  it('keeps consuming, without subscribing again, across restarts of Redis that lose every key', async () => {
    const service = await make();
    const inbox: string[] = [];
    const events: string[] = [];
    await service.subscribe({ inbox: 'svc' }, async (m) => {
      if (m.type === 'request') await service.send(createResponse(m, 'svc', { data: { echo: m.data } }, clock.now()));
      else inbox.push(m.id);
    });
    await service.subscribe({ topic: 'news' }, (m) => void events.push(m.id));
    const caller = await make();
    const ask = (n: number) => message(clock, { type: 'request', action: 'echo', to: 'svc', data: { n } });
    expect((await within('a request before the restart', caller.request(ask(0)))).data).toEqual({ echo: { n: 0 } });

    for (let round = 1; round <= 2; round++) {
      await client.set(`${prefix}:sentinel`, 'before the restart').catch(() => undefined);
      await redis.restart();
      // Every key is gone (the readers may already have made their groups again, so look at a key nobody remakes).
      expect(await client.exists(`${prefix}:sentinel`)).toBe(0);

      const sent = command('svc', { round });
      await eventually('a send to go through after the restart', () => caller.send(sent).then(() => true, () => false));
      await eventually('the same subscriber to receive it', () => inbox.includes(sent.id));

      const response = await within('a request after the restart', caller.request(ask(round)));
      expect(response.data).toEqual({ echo: { n: round } });

      const event = message(clock, { type: 'event', action: 'happened', to: null, data: { round } });
      await caller.publish('news', event);
      await eventually('the topic subscriber to receive an event', () => events.includes(event.id));
    }
  });

  it('gives up no read whose answer waited on the socket while the process was busy, and loses no response', async () => {
    const { logger, warnings } = recordingLogger();
    const caller = await make({ logger });
    const waiter = await make({ logger });
    await waiter.subscribe({ topic: 'quiet' }, () => undefined);
    // Nobody serves this inbox: the response comes from another process, written while this one is busy.
    const asked = caller.request(message(clock, { type: 'request', action: 'work', to: 'nobody' }));
    const request = await eventually('the request in the inbox', async () => {
      const [entry] = await client.xrange(redisKeys(prefix).inbox('nobody'), '-', '+');
      return entry ? (JSON.parse(entry[1][1]!) as Message) : null;
    });
    const response = createResponse(request, 'nobody', { data: { ok: true } }, clock.now());
    // Busy for three times a read's BLOCK plus grace: when timers run again every blocking
    // read looks overdue, though its answer (the response, or the end of its BLOCK) is waiting.
    // The answer is written by a synchronous child, and the busy loop lasts until Redis has
    // answered every blocking read (no client left blocked), so what is on the socket when
    // timers run again does not depend on which process got a core meanwhile.
    const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' });
    const busyUntil = performance.now() + 3 * (FAST.blockMs! + FAST.readGraceMs!);
    cli('XADD', redisKeys(prefix).reply(request.replyTo!), '*', 'm', encodeMessage(response));
    const blocked = () => cli('CLIENT', 'LIST').split('\n').filter((line) => /\bflags=\S*b/.test(line)).length;
    // Bounded at half the test's limit: a loop that never ends would hold the event loop, and vitest's timeout with it.
    const giveUpAt = performance.now() + 60_000;
    while (performance.now() < busyUntil || (blocked() > 0 && performance.now() < giveUpAt));
    expect((await within('the response', asked)).data).toEqual({ ok: true });
    expect(warnings()).toEqual([]);
  });

  it('gives up no read that waited for its connection to be ready while the process was busy', async () => {
    const { logger, warnings } = recordingLogger();
    const server = await make({ logger });
    const handled: string[] = [];
    // A subscription's start needs one round trip (its consumer group), its reader's own
    // connection two (connect, then the connection's set-up): the first read is issued
    // while that connection is not ready, and queued behind it.
    await server.subscribe({ inbox: 'svc' }, (m) => void handled.push(m.id));
    // Busy for three times a read's BLOCK plus grace before the connection could be ready:
    // when timers run again, the read looks overdue though it has not yet reached Redis.
    const busyUntil = performance.now() + 3 * (FAST.blockMs! + FAST.readGraceMs!);
    while (performance.now() < busyUntil);
    const sender = await make();
    const sent = command('svc');
    await sender.send(sent);
    await eventually('the subscriber to receive it', () => handled.includes(sent.id));
    expect(warnings()).toEqual([]);
  });

  it('fails no command whose answer waited on the socket while the process was busy', async () => {
    const { logger, warnings } = recordingLogger();
    const server = await make({ logger });
    const handled: string[] = [];
    await server.subscribe({ inbox: 'svc' }, (m) => void handled.push(m.id));
    const sender = await make({ logger });
    const sent = command('svc');
    const sending = sender.send(sent);
    // The send's write leaves once the ticks and microtasks queued now have run; no I/O comes in meanwhile.
    for (let i = 0; i < 10; i++) await new Promise((resolve) => process.nextTick(resolve));
    // Busy for three times the commands' timeout (a read's BLOCK plus grace): when timers run
    // again the XADD looks unanswered, though its answer is waiting on the socket.
    const busyUntil = performance.now() + 3 * (FAST.blockMs! + FAST.readGraceMs!);
    while (performance.now() < busyUntil);
    await sending;
    await eventually('the subscriber to receive it', () => handled.includes(sent.id));
    expect(warnings()).toEqual([]);
  });

  it('dead-letters 1,000 malformed entries with their reasons while handling every good one in between', async () => {
    const maxMessageBytes = 4_096;
    const { logger } = recordingLogger();
    const receiver = await createRedisBus({ url: redis.url, prefix, clock, logger, ...FAST, maxMessageBytes });
    buses.push(receiver);
    const handled: string[] = [];
    await receiver.subscribe({ inbox: 'target' }, (m) => void handled.push(m.id));

    const WAITING_CALLER = '4f3c2a10-8d7e-4b6a-9c5d-1e2f3a4b5c6d';
    const base = () => createMessage({ type: 'command', from: 'raw', to: 'target', action: 'do_work' }, clock.now());
    const kinds: [code: string, fields: () => string[]][] = [
      ['ORC_PROTOCOL_INVALID_JSON', () => ['m', '{"type": "command", "id": ']],
      ['ORC_PROTOCOL_MISSING_FIELD', () => ['m', JSON.stringify({ ...base(), from: undefined })]],
      ['ORC_PROTOCOL_WRONG_TYPE', () => ['m', JSON.stringify({ ...base(), timestamp: '2026-01-01' })]],
      ['ORC_PROTOCOL_WRONG_TYPE', () => ['m', '42']],
      ['ORC_PROTOCOL_UNKNOWN_FIELD', () => ['m', JSON.stringify({ ...base(), priority: 1 })]],
      ['ORC_PROTOCOL_INVALID_VALUE', () => ['m', JSON.stringify({ ...base(), type: 'shout' })]],
      ['ORC_PROTOCOL_TOO_LARGE', () => ['m', JSON.stringify({ ...base(), data: 'x'.repeat(maxMessageBytes) })]],
      ['ORC_PROTOCOL_MISSING_FIELD', () => ['message', JSON.stringify(base())]],
      // A damaged request names who to answer: it gets an error response besides its dead letter.
      ['ORC_PROTOCOL_UNKNOWN_FIELD', () => ['m', JSON.stringify({ ...base(), type: 'request', replyTo: WAITING_CALLER, extra: true })]],
      ['ORC_PROTOCOL_OUT_OF_RANGE', () => ['m', JSON.stringify({ ...base(), action: '' })]],
    ];

    const key = redisKeys(prefix).inbox('target');
    const expectedCodes: string[] = [];
    const good: string[] = [];
    const batch = client.pipeline();
    for (let i = 0; i < 1_000; i++) {
      const [code, fields] = kinds[i % kinds.length]!;
      expectedCodes.push(code);
      batch.xadd(key, '*', ...fields());
      if (i % 10 === 9) {
        const m = base();
        good.push(m.id);
        batch.xadd(key, '*', 'm', JSON.stringify(m));
      }
    }
    await batch.exec();

    await eventually('every good message', () => handled.length === good.length);
    expect([...handled].sort()).toEqual([...good].sort());
    const letters = new RedisDeadLetters(client, redisKeys(prefix).deadLetters);
    const all = await eventually('1,000 dead letters', async () => {
      const list = await letters.list(2_000);
      return list.length >= 1_000 ? list : null;
    });
    expect(all).toHaveLength(1_000);
    expect(all.map((l) => l.code).sort()).toEqual(expectedCodes.sort());
    for (const letter of all) {
      expect(letter.source).toBe('inbox:target');
      expect(letter.reason.length).toBeGreaterThan(0);
    }
    // A refused request is dead-lettered first and answered after: the last answers may still be on their way.
    await eventually('an answer to each damaged request', async () => (await client.xlen(redisKeys(prefix).reply(WAITING_CALLER))) === 100);
    await eventually('every entry to be acknowledged', async () => (await client.xlen(key)) === 0);
  });

  it('reconnects a reader whose connection went silent (half-open), and consumes again', async () => {
    const proxy = await startFreezableProxy(redis.port);
    try {
      const receiver = await make({}, proxy.url);
      const got: string[] = [];
      await receiver.subscribe({ inbox: 'quiet' }, (m) => void got.push(m.id));
      const sender = await make();
      const before = command('quiet');
      await sender.send(before);
      await eventually('a message before the freeze', () => got.includes(before.id));

      // Every connection open now stops carrying bytes without being closed.
      proxy.freezeOpenConnections();
      const after = command('quiet');
      await sender.send(after);
      // Redis may already have written the message to the frozen connection, where it is lost in
      // transit: it is pending on this very consumer, which takes it up again once reconnected
      // (the clock does not move here, so this is not the claim of stale messages).
      await eventually('a message after the freeze', () => got.includes(after.id));
      expect(proxy.connectionsOpened()).toBeGreaterThan(2);
    } finally {
      await Promise.all(buses.splice(0).map((b) => b.close()));
      proxy.close();
    }
  });
});

/**
 * A TCP proxy that can black-hole its open connections: what a half-open
 * connection (a dead peer, a dropped NAT entry) looks like to a client.
 */
async function startFreezableProxy(targetPort: number) {
  const sockets = new Set<net.Socket>();
  let opened = 0;
  // Half-open on both sides: a FIN from the client must not be answered, as in a black hole.
  const server = net.createServer({ allowHalfOpen: true }, (downstream) => {
    opened++;
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    for (const s of [downstream, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    connectionsOpened: () => opened,
    freezeOpenConnections() {
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
