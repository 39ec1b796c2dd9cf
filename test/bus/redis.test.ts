import { describe, it, expect, afterEach } from 'vitest';
import net from 'node:net';
import { Redis } from 'ioredis';
import { createResponse, ManualClock } from '../../src/protocol/index.js';
import { createBus, createRedisBus, redisKeys, RedisDeadLetters, INBOX_GROUP } from '../../src/bus/index.js';
// The class itself, not only its type: the bus part loads it on first use.
import { RedisBus } from '../../src/bus/redis.js';
import { REDIS_URL, uniqueName } from '../support/env.js';
import { busContract } from '../contract/bus.contract.js';
import { deletePrefix, redisHarness } from './harness.js';
import { eventually, message } from './support.js';

busContract('redis', redisHarness);

describe('RedisBus', () => {
  const clock = new ManualClock();
  const prefix = uniqueName('bus');
  const keys = redisKeys(prefix);
  const client = new Redis(REDIS_URL);
  const buses: RedisBus[] = [];
  const make = async (options = {}) => {
    const bus = await createRedisBus({ url: REDIS_URL, prefix, clock, ...options });
    buses.push(bus);
    return bus;
  };

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
    await deletePrefix(client, prefix);
  });

  it('keeps an inbox in the stream prefix:inbox:<id>, read by the group orchestra, and deletes each entry once handled', async () => {
    const bus = await make();
    let handled = 0;
    await bus.subscribe({ inbox: 'alice' }, () => void handled++);
    for (let i = 0; i < 20; i++) await bus.send(message(clock, { type: 'command', action: 'a', to: 'alice' }));
    await eventually('all handled', () => handled === 20);

    const groups = (await client.xinfo('GROUPS', keys.inbox('alice'))) as unknown[][];
    expect(groups.map((g) => g[g.indexOf('name') + 1])).toEqual([INBOX_GROUP]);
    await eventually('the stream to be emptied by acknowledgements', async () => (await client.xlen(keys.inbox('alice'))) === 0);
    const [pending] = (await client.xpending(keys.inbox('alice'), INBOX_GROUP)) as [number];
    expect(pending).toBe(0);
  });

  it('trims a topic stream to about topicMaxLen events', async () => {
    const bus = await make({ topicMaxLen: 100 });
    for (let i = 0; i < 1000; i++) await bus.publish('busy', message(clock, { type: 'event', action: 'e', to: null }));
    const length = await client.xlen(keys.topic('busy'));
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(1000);
  });

  it('answers requests through a reply stream of its own that expires, and deletes it on close', async () => {
    const requester = await make();
    const responder = await make();
    await responder.subscribe({ inbox: 'svc' }, (req) => responder.send(createResponse(req, 'svc', { data: { ok: true } }, clock.now())));
    const replyKey = keys.reply(requester.instanceId);
    let ttl = -2;
    // The responder writes the reply stream; catch its expiry before the requester consumes and deletes it.
    const watcher = new Redis(REDIS_URL);
    const response = await requester.request(message(clock, { type: 'request', action: 'ping', to: 'svc' }));
    expect(response.data).toEqual({ ok: true });
    ttl = await watcher.ttl(replyKey);
    watcher.disconnect();
    // Either the stream is still there with an expiry, or the requester already deleted its last entry.
    expect(ttl === -2 || ttl > 0).toBe(true);
    await requester.close();
    expect(await client.exists(replyKey)).toBe(0);
  });

  it('sets an expiry on every reply stream it writes', async () => {
    const bus = await make();
    const someoneElse = '0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70';
    const request = message(clock, { type: 'request', action: 'ping', to: 'svc', replyTo: someoneElse });
    await bus.send(createResponse(request, 'svc', { data: {} }, clock.now()));
    const ttl = await client.ttl(keys.reply(someoneElse));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  it('refuses a request whose replyTo is not a reply address, writing its answer nowhere', async () => {
    const bus = await make();
    const handled: string[] = [];
    await bus.subscribe({ inbox: 'svc' }, async (m) => {
      handled.push(m.id);
      await bus.send(createResponse(m, 'svc', { data: { ok: true } }, clock.now()));
    });
    const before = new Set(await client.keys(`${prefix}:*`));
    for (const replyTo of ['inbox:victim', 'victim', '../topic:x']) {
      const forged = message(clock, { type: 'request', action: 'ping', to: 'svc', replyTo: replyTo.replace('../', '') });
      await client.xadd(keys.inbox('svc'), '*', 'm', JSON.stringify(forged));
    }
    const letters = new RedisDeadLetters(client, keys.deadLetters);
    const refused = await eventually('three dead letters', async () => {
      const list = await letters.list(10);
      return list.length >= 3 ? list : null;
    });
    expect(handled).toEqual([]);
    expect(refused.map((l) => l.code)).toEqual(['ORC_PROTOCOL_INVALID_VALUE', 'ORC_PROTOCOL_INVALID_VALUE', 'ORC_PROTOCOL_INVALID_VALUE']);
    expect(refused[0]!.reason).toContain('replyTo');
    const written = (await client.keys(`${prefix}:*`)).filter((k) => !before.has(k) && k !== keys.deadLetters && k !== keys.inbox('svc'));
    expect(written).toEqual([]);
  });

  it('removes its consumer from the group on unsubscribe when it holds nothing', async () => {
    const bus = await make();
    let handled = 0;
    const subscription = await bus.subscribe({ inbox: 'alice' }, () => void handled++);
    const consumers = async () => ((await client.xinfo('CONSUMERS', keys.inbox('alice'), INBOX_GROUP)) as unknown[]).length;
    // Redis registers a consumer with the first entry it reads.
    await bus.send(message(clock, { type: 'command', action: 'a', to: 'alice' }));
    await eventually('the message to be handled and acknowledged', async () => handled === 1 && (await client.xlen(keys.inbox('alice'))) === 0);
    expect(await consumers()).toBe(1);
    await subscription.unsubscribe();
    expect(await consumers()).toBe(0);
  });

  it('records dead letters in prefix:dead-letters by default', async () => {
    const bus = await make();
    await bus.subscribe({ inbox: 'alice' }, () => undefined);
    await client.xadd(keys.inbox('alice'), '*', 'm', 'not json');
    const letters = await eventually('the dead letter', async () => {
      const list = await new RedisDeadLetters(client, keys.deadLetters).list();
      return list.length ? list : null;
    });
    expect(letters[0]).toMatchObject({ source: 'inbox:alice', code: 'ORC_PROTOCOL_INVALID_JSON', raw: 'not json' });
  });

  it('is what createBus gives with a Redis URL', async () => {
    const bus = await createBus({ url: REDIS_URL, prefix, clock });
    expect(bus).toBeInstanceOf(RedisBus);
    await bus.close();
  });

  it('reports a Redis it cannot reach with ORC_BUS_UNREACHABLE', async () => {
    const err = await createRedisBus({ url: 'redis://127.0.0.1:1', prefix, clock, blockMs: 100, readGraceMs: 200 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ORC_BUS_UNREACHABLE', retryable: true });
    expect(String((err as Error).message)).toContain('redis://127.0.0.1:1');
  });

  it('says a refused connection is refused, without waiting out a command timeout', async () => {
    const err = await createRedisBus({ url: 'redis://127.0.0.1:1', prefix, clock }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ORC_BUS_UNREACHABLE' });
    expect(String((err as Error).message)).toContain('connection refused');
  });

  it('gives up on a server that accepts but never answers after bus.connectTimeoutMs', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const err = await createRedisBus({ url: `redis://127.0.0.1:${port}`, prefix, clock, connectTimeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ORC_BUS_UNREACHABLE' });
      expect(String((err as Error).message)).toContain('no answer within 300 ms (bus.connectTimeoutMs)');
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it.each(['garbage', 'http://127.0.0.1:6379', 'redis://'])('refuses the Redis URL %j before connecting', async (url) => {
    const err = await createRedisBus({ url, prefix, clock }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ORC_CONFIG_INVALID' });
  });

  it('refuses a key prefix that is not a plain name', async () => {
    await expect(createRedisBus({ url: REDIS_URL, prefix: 'has space', clock })).rejects.toMatchObject({ issues: [{ path: 'prefix' }] });
  });
});
