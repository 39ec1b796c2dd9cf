import { Redis } from 'ioredis';
import type { DeadLetter } from '../../src/protocol/index.js';
import { createMemoryBus, createRedisBus, MemoryBroker, MemoryDeadLetters, redisKeys, RedisDeadLetters, type Bus } from '../../src/bus/index.js';
import { REDIS_URL, uniqueName } from '../support/env.js';
import type { BusHarness, MakeBusHarness } from '../contract/bus.contract.js';

/** Removes every key of one test's prefix: the shared Redis is never flushed. */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Memory buses on one broker: peers reach each other as processes sharing one Redis do. */
export const memoryHarness: MakeBusHarness = async ({ clock, logger, options }): Promise<BusHarness> => {
  const broker = new MemoryBroker();
  const deadLetters = new MemoryDeadLetters();
  const buses: Bus[] = [];
  const make = () => {
    const bus = createMemoryBus({ clock, logger, deadLetters, broker, ...options });
    buses.push(bus);
    return bus;
  };
  const bus = make();
  return {
    bus,
    makePeer: async () => make(),
    deadLetters: async () => deadLetters.list(),
    inject: (target, raw) => bus.receiveRaw(target, raw),
    cleanup: async () => {
      await Promise.all(buses.map((b) => b.close()));
    },
  };
};

/** Redis buses under a prefix of their own on the shared Redis, removed at cleanup. */
export const redisHarness: MakeBusHarness = async ({ clock, logger, options }): Promise<BusHarness> => {
  const prefix = uniqueName('bus');
  const client = new Redis(REDIS_URL);
  const buses: Bus[] = [];
  const make = async () => {
    const bus = await createRedisBus({ url: REDIS_URL, prefix, clock, logger, ...options });
    buses.push(bus);
    return bus;
  };
  const bus = await make();
  const letters = new RedisDeadLetters(client, redisKeys(prefix).deadLetters);
  return {
    bus,
    makePeer: make,
    deadLetters: (): Promise<DeadLetter[]> => letters.list(10_000),
    inject: async (target, raw) => {
      const keys = redisKeys(prefix);
      await client.xadd('inbox' in target ? keys.inbox(target.inbox) : keys.topic(target.topic), '*', 'm', raw);
    },
    cleanup: async () => {
      await Promise.all(buses.map((b) => b.close()));
      await deletePrefix(client, prefix);
      client.disconnect();
    },
  };
};
