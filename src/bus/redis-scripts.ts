import type { Redis } from 'ioredis';
import { OrchestraError } from '../protocol/index.js';

/*
 * A write that must touch a stream twice atomically is a script, not a MULTI
 * block: one command for Redis to parse and answer instead of four (MULTI, two
 * commands, EXEC), and no ioredis Pipeline object per call on the client. The
 * scripts leave in the same socket write as the other commands of their turn
 * (see `inOneWrite`); a script runs atomically, as MULTI did.
 */

const XADD_BOUNDED = 'orchestraXaddBounded';
const XADD_EXPIRING = 'orchestraXaddExpiring';
const XACK_DELETE = 'orchestraXackDelete';

/**
 * XADD unless the stream already holds `maxLen` entries.
 *   KEYS[1]  the inbox stream
 *   ARGV[1]  most entries it may hold
 *   ARGV[2]  field name, ARGV[3] value
 *   returns  the new entry id, or nil when the inbox is full
 * Inbox entries are deleted once acknowledged, so the length counts exactly the
 * messages not yet handled; checking it in the script makes the bound exact
 * across any number of senders.
 */
const XADD_BOUNDED_LUA = `
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[3])
`;

/**
 * XADD to a stream trimmed to about `maxLen` entries, and push its expiry back.
 *   KEYS[1]  the reply stream
 *   ARGV[1]  about how many entries it may hold (MAXLEN ~)
 *   ARGV[2]  field name, ARGV[3] value
 *   ARGV[4]  seconds the stream lives after this write
 *   returns  the new entry id
 * Together, so no reply stream is ever left without an expiry.
 */
const XADD_EXPIRING_LUA = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return id
`;

/**
 * Acknowledge entries in a consumer group and delete them from the stream.
 *   KEYS[1]  the inbox stream
 *   ARGV[1]  the consumer group
 *   ARGV[2…] entry ids
 *   returns  how many entries were deleted
 * Together, so an entry is never acknowledged yet kept (the inbox's length
 * would count it against `inboxMaxLen` for ever) nor deleted yet pending.
 */
const XACK_DELETE_LUA = `
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
`;

/** Registers the scripts; ioredis reloads them by itself when a restarted Redis has forgotten them. */
export function defineScripts(redis: Redis): void {
  redis.defineCommand(XADD_BOUNDED, { numberOfKeys: 1, lua: XADD_BOUNDED_LUA });
  redis.defineCommand(XADD_EXPIRING, { numberOfKeys: 1, lua: XADD_EXPIRING_LUA });
  redis.defineCommand(XACK_DELETE, { numberOfKeys: 1, lua: XACK_DELETE_LUA });
}

function runScript<T>(redis: Redis, name: string, args: (string | number)[]): Promise<T> {
  const command = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<T>>)[name];
  if (!command) return Promise.reject(new OrchestraError('ORC_CONFIG_INVALID', 'defineScripts was not called on this connection'));
  return command.apply(redis, args);
}

export function xaddBounded(redis: Redis, key: string, maxLen: number, field: string, value: string): Promise<string | null> {
  return runScript(redis, XADD_BOUNDED, [key, maxLen, field, value]);
}

export function xaddExpiring(redis: Redis, key: string, maxLen: number, field: string, value: string, ttlSeconds: number): Promise<string> {
  return runScript(redis, XADD_EXPIRING, [key, maxLen, field, value, ttlSeconds]);
}

export function xackDelete(redis: Redis, key: string, group: string, ids: string[]): Promise<number> {
  return runScript(redis, XACK_DELETE, [key, group, ...ids]);
}
