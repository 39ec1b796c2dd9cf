/**
 * Every key the Redis bus touches, in one place. All start with the prefix, so
 * several systems (or test runs) share one Redis, and an operator can find and
 * delete one system's keys with `SCAN MATCH prefix:*`.
 */
export function redisKeys(prefix: string) {
  return {
    /** An agent's inbox: a stream read through the consumer group `orchestra`. */
    inbox: (agentId: string) => `${prefix}:inbox:${agentId}`,
    /** A topic: a stream every subscriber reads on its own. */
    topic: (name: string) => `${prefix}:topic:${name}`,
    /** The responses to one bus instance's requests; expires when its process is gone. */
    reply: (address: string) => `${prefix}:reply:${address}`,
    deadLetters: `${prefix}:dead-letters`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/** The consumer group of every inbox. */
export const INBOX_GROUP = 'orchestra';
/** The one field of a stream entry: the encoded message. */
export const MESSAGE_FIELD = 'm';
