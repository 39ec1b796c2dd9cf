import { setTimeout as delay } from 'node:timers/promises';
import { Redis, type Command, type RedisOptions } from 'ioredis';
import { describeError, OrchestraError, type Logger } from '../protocol/index.js';
import { BusUnreachableError } from './errors.js';

/**
 * Reconnect for ever, quickly at first: a restarted Redis must be picked up
 * without anyone restarting the process. Real time on purpose: this paces
 * network I/O, not anything the system's clock governs.
 */
const retryStrategy = (attempt: number) => Math.min(50 * 2 ** Math.min(attempt - 1, 5), 1000);

/** The connection for ordinary commands (XADD, XACK, XCLAIM…), shared by a bus. */
export function openCommandConnection(url: string, name: string, commandTimeoutMs: number, logger: Logger): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    retryStrategy,
    // Batched by `inOneWrite` instead (see there).
    enableAutoPipelining: false,
  } satisfies RedisOptions);
  // A command unanswered this long is on a dead connection (see forceReconnectIfStalled).
  timeCommands(redis, commandTimeoutMs);
  redis.on('error', (err) => logger.debug({ connection: name, err: describeError(err) }, 'redis connection error'));
  return redis;
}

/** A command still unanswered after the connection's timeout (see timeCommands). */
export class CommandTimeoutError extends OrchestraError {
  constructor(ms: number) {
    super('ORC_BUS_UNREACHABLE', `command unanswered after ${ms} ms`, true);
  }
}

/**
 * Fails each command on `redis` still unanswered `ms` after it was issued, as
 * ioredis's `commandTimeout` does, but with a second look after the event
 * loop's next poll for I/O: timers run before I/O, so a process that was
 * busy longer than `ms` (a long handler, a saturated CPU) would fail a command
 * whose answer is already waiting on the socket, and reconnect a healthy
 * connection with it. A command failed this way may still have taken effect.
 */
function timeCommands(redis: Redis, ms: number): void {
  const send = redis.sendCommand.bind(redis);
  // ioredis issues a command again after a reconnect: its time counts from the first issue.
  const timed = new WeakSet<Command>();
  redis.sendCommand = (command, stream) => {
    if (!timed.has(command)) {
      timed.add(command);
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (!command.isResolved) command.reject(new CommandTimeoutError(ms));
        });
      }, ms);
      const clear = () => clearTimeout(timer);
      command.promise.then(clear, clear);
    }
    return send(command, stream);
  };
}

/** What a failed first connection means, in words a person recognises. */
const CONNECT_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
};

/**
 * Resolves when `redis` is ready for commands. Rejects at the first
 * connection error (a refused port, an unknown host: no retry changes those
 * during start-up), or when nothing is ready after `timeoutMs` of real time (a
 * server that accepts but never answers). Reconnecting for ever applies only
 * once a connection has been made.
 */
export function firstContact(redis: Redis, timeoutMs: number, what: string): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    const onReady = () => {
      done();
      resolve();
    };
    const onError = (err: unknown) => {
      done();
      const code = (err as { code?: unknown } | null)?.code;
      const meaning = typeof code === 'string' ? CONNECT_FAILURES[code] : undefined;
      reject(new BusUnreachableError(what, meaning ? `${meaning} (${describeError(err).message})` : describeError(err).message));
    };
    const timer = setTimeout(() => {
      done();
      reject(new BusUnreachableError(what, `no answer within ${timeoutMs} ms (bus.connectTimeoutMs)`));
    }, timeoutMs);
    timer.unref();
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}

const holding = new WeakSet<Redis>();

/**
 * Holds back the socket writes of `redis` until the microtask queue now
 * running is empty, so that every command issued meanwhile (the responses of
 * one read batch's handlers, the requests their callers send next) leaves in
 * one write, at once. Returns `redis`, to call the command on.
 *
 * Rather than ioredis's auto-pipelining, which sends a batch only at the next
 * turn of the event loop (setImmediate), and only once the connection's
 * previous batch is answered: one batch in flight per connection, on every
 * request's critical path. On bench/bus.ts (64 calls in flight) this gave
 * 53–68 % of the raw throughput where auto-pipelining gave 39–50 %, and a
 * connection without auto-pipelining for the XADDs alone 34–44 %.
 */
export function inOneWrite(redis: Redis): Redis {
  if (redis.status !== 'ready' || holding.has(redis)) return redis;
  const stream = redis.stream;
  stream.cork();
  holding.add(redis);
  process.nextTick(() => {
    holding.delete(redis);
    stream.uncork();
  });
  return redis;
}

/**
 * A connection of its own for one blocking reader: a blocked XREAD would hold
 * up every other command queued behind it on a shared connection.
 */
export function openBlockingConnection(commands: Redis, name: string, logger: Logger): Redis {
  const redis = commands.duplicate({
    connectionName: name,
    // A blocking read waits out a reconnect instead of failing after a few retries;
    // the reader's own watchdog bounds how long it waits.
    maxRetriesPerRequest: null,
    enableAutoPipelining: false,
    commandTimeout: undefined,
  });
  redis.on('error', (err) => logger.debug({ connection: name, err: describeError(err) }, 'redis connection error'));
  return redis;
}

/**
 * A command that timed out on a connection ioredis still believes healthy
 * points to a half-open TCP connection, which would otherwise never recover.
 */
export function forceReconnectIfStalled(redis: Redis, err: unknown): void {
  if (redis.status === 'ready' && err instanceof CommandTimeoutError) redis.disconnect(true);
}

export const isNoGroupError = (err: unknown) => /NOGROUP/.test(describeError(err).message);
export const isBusyGroupError = (err: unknown) => /BUSYGROUP/.test(describeError(err).message);

/** Backoff between failed reads, on real time: it paces I/O against a server, not system logic. */
export const readBackoffMs = (failures: number) => Math.min(50 * 2 ** Math.max(0, failures - 1), 1000);

/**
 * Resolves once `redis` is ready, or after `ms` of real time if it is not by
 * then. A command issued on a connection still connecting waits in ioredis's
 * queue, not on the server: a watchdog that counted that wait would give up a
 * read that never left, when the process was too busy to finish connecting.
 * Bounded, so a set-up that hangs leaves the read to the watchdog.
 */
export function readyWithin(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    redis.once('ready', done);
  });
}

/** Real time in ms, for measuring network waits (the watchdog of blocking reads), never system logic. */
export const realNowMs = (): number => performance.now();

/**
 * Calls `tick` every `ms` of real time until the returned function is called.
 * Unref'd: a watchdog must never keep a finished process alive.
 */
export function everyMs(ms: number, tick: () => void): () => void {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Resolves once the event loop has run everything now due: the microtasks,
 * the writes `inOneWrite` held back until their end, and the other I/O
 * callbacks of this turn. Not a delay on any clock: a place in line.
 */
export const afterThisTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits real time, ending early (without error) when `signal` aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => undefined);
}

/** Best-effort cleanup that must not hold up a shutdown while Redis is unreachable. */
export async function atMost(ms: number, work: Promise<unknown>): Promise<void> {
  const bound = new AbortController();
  await Promise.race([work.catch(() => undefined), pause(ms, bound.signal)]);
  bound.abort();
}
