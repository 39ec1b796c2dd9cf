export type { Bus, MessageHandler, Subscription, SubscriptionTarget, RequestOptions } from './bus.js';
export { MemoryBus, MemoryBroker, createMemoryBus, type MemoryBusDeps } from './memory.js';
export { RedisBus, createRedisBus, redactRedisUrl, type RedisBusDeps } from './redis.js';
export { busConfig, type BusOptions, type BusConfig } from './config.js';
export { RequestTimeoutError, RemoteError, BusClosedError } from './errors.js';
export { MemoryDeadLetters } from './dead-letters.js';
export { RedisDeadLetters } from './redis-dead-letters.js';
