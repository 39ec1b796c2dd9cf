import type { Clock, DeadLetterSink, Logger, Telemetry } from '../protocol/index.js';
import type { Bus } from './bus.js';
import type { BusOptions } from './config.js';
import { createMemoryBus, type MemoryBroker } from './memory.js';
import type { RedisBus, RedisBusDeps } from './redis.js';

export interface CreateBusOptions extends BusOptions {
  /** A Redis URL selects the Redis bus; without one the bus is in-process. */
  url?: string;
  /** Key prefix on Redis. Default `orchestra`. */
  prefix?: string;
  clock: Clock;
  logger?: Logger;
  deadLetters?: DeadLetterSink;
  telemetry?: Telemetry;
  /** Memory only: buses on one broker reach each other. */
  broker?: MemoryBroker;
}

/** The bus a composition root asks for: Redis when a URL is configured, in-memory otherwise. */
export async function createBus(options: CreateBusOptions): Promise<Bus> {
  const { url, prefix, broker, ...rest } = options;
  if (url) {
    return createRedisBus({ ...rest, url, prefix: prefix ?? 'orchestra' });
  }
  return createMemoryBus({ ...rest, ...(broker ? { broker } : {}) });
}

/**
 * The Redis bus, its module (and the Redis client) loaded on first use: a
 * process on the in-process bus never loads them (about 60 ms of a start).
 */
export async function createRedisBus(deps: RedisBusDeps): Promise<RedisBus> {
  const redis = await import('./redis.js');
  return redis.createRedisBus(deps);
}
