import type { Clock, DeadLetterSink, Logger, Telemetry } from '../protocol/index.js';
import type { Bus } from './bus.js';
import type { BusOptions } from './config.js';
import { createMemoryBus, type MemoryBroker } from './memory.js';

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
    // Loaded here: a process on the in-process bus never needs the Redis client.
    const { createRedisBus } = await import('./redis.js');
    return createRedisBus({ ...rest, url, prefix: prefix ?? 'orchestra' });
  }
  return createMemoryBus({ ...rest, ...(broker ? { broker } : {}) });
}
