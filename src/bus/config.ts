import { z } from 'zod';

const SECOND = 1000;
const MiB = 1024 * 1024;

/** Every bus setting and its default, written once; both backends read the same schema. */
export const busConfig = z
  .object({
    /** How long `request` waits for its response, on the injected clock. */
    requestTimeoutMs: z.number().int().positive().default(30 * SECOND),
    /**
     * Redis: a message a consumer has held unacknowledged this long (Redis's own
     * time) is given to another replica. A handler that runs longer than this
     * is taken for dead, and its message handled twice.
     */
    claimIdleMs: z.number().int().positive().default(30 * SECOND),
    /** Redis: how often each inbox subscription looks for such messages, on the injected clock. */
    claimIntervalMs: z.number().int().positive().default(5 * SECOND),
    /**
     * Redis: how long the first connection may take before the bus gives up
     * (a server that accepts but never answers). A refused connection fails at
     * once; after the first contact, a lost connection is retried for ever.
     */
    connectTimeoutMs: z.number().int().positive().default(10 * SECOND),
    /** Redis: how long one blocking read (XREADGROUP / XREAD BLOCK) waits before it is issued again. */
    blockMs: z.number().int().positive().default(2 * SECOND),
    /**
     * Redis: a blocking read still unanswered this long after its BLOCK ran out
     * is on a dead (half-open) connection, and the reader reconnects.
     */
    readGraceMs: z.number().int().positive().default(5 * SECOND),
    /** Undelivered messages one inbox holds; past it `send` is refused (back-pressure, never silent loss). */
    inboxMaxLen: z.number().int().positive().default(100_000),
    /** Events a topic keeps; older ones are trimmed (approximately, on Redis). */
    topicMaxLen: z.number().int().positive().default(10_000),
    /** A message delivered this many times without being acknowledged is dead-lettered. */
    maxDeliveries: z.number().int().min(1).default(5),
    maxMessageBytes: z.number().int().positive().default(1 * MiB),
    /** Handlers one subscription runs at once; further messages wait in the inbox or topic. */
    maxInFlight: z.number().int().positive().default(100),
  })
  .strict();

export type BusOptions = z.input<typeof busConfig>;
export type BusConfig = z.output<typeof busConfig>;

/**
 * Why `url` cannot name a Redis server, or undefined when it can: a
 * `redis://` or `rediss://` URL with a host. Checked before any connection is
 * tried, so a typo is refused at once rather than retried.
 */
export function redisUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL: expected redis://host:port';
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return `scheme "${parsed.protocol.replace(/:$/, '')}" is not redis or rediss: expected redis://host:port`;
  }
  if (!parsed.hostname) return 'no host: expected redis://host:port';
  return undefined;
}
