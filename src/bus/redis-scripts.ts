import type { Redis } from 'ioredis';

const XADD_BOUNDED = 'orchestraXaddBounded';

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

/** Registers the scripts; ioredis reloads them by itself when a restarted Redis has forgotten them. */
export function defineScripts(redis: Redis): void {
  redis.defineCommand(XADD_BOUNDED, { numberOfKeys: 1, lua: XADD_BOUNDED_LUA });
}

export async function xaddBounded(redis: Redis, key: string, maxLen: number, field: string, value: string): Promise<string | null> {
  const command = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<string | null>>)[XADD_BOUNDED];
  if (!command) throw new Error('defineScripts was not called on this connection');
  return command.call(redis, key, maxLen, field, value);
}
