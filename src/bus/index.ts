export type { Bus, MessageHandler, Subscription, SubscriptionTarget, RequestOptions } from './bus.js';
export { busConfig, redisUrlProblem, type BusOptions, type BusConfig } from './config.js';
export { RequestTimeoutError, RemoteError, BusClosedError, InboxFullError, BusUnreachableError } from './errors.js';
export { MemoryBus, MemoryBroker, createMemoryBus, type MemoryBusDeps } from './memory.js';
export type { RedisBus, RedisBusDeps } from './redis.js';
export { redisKeys, INBOX_GROUP, type RedisKeys } from './redis-keys.js';
export { MemoryDeadLetters } from './dead-letters.js';
export { RedisDeadLetters } from './redis-dead-letters.js';
export { createBus, createRedisBus, type CreateBusOptions } from './create.js';
