import { pino } from 'pino';
import { createMessage, type Clock, type Logger, type Message, type MessageInit } from '../../src/protocol/index.js';

/**
 * Waits for a condition that depends on I/O (a Redis round trip, a microtask
 * chain), polling, as long as the test may run (or `timeoutMs` when given). Not a way to let time pass:
 * time-driven behaviour is driven by advancing the ManualClock.
 */
export async function eventually<T>(
  what: string,
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = Infinity,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Whether a promise has settled, without waiting for it. */
export function settledState(promise: Promise<unknown>): () => 'pending' | 'resolved' | 'rejected' {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  return () => state;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger whose lines the test can read. */
export function recordingLogger(): { logger: Logger; lines: LogLine[]; warnings(): LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug', base: undefined }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, warnings: () => lines.filter((l) => l.level === 40) };
}

/** A message stamped with the test's clock. */
export function message(clock: Clock, init: Partial<MessageInit> & Pick<MessageInit, 'action'>): Message {
  return createMessage({ type: 'command', from: 'tester', to: 'alice', data: {}, ...init }, clock.now());
}

/** Bounds a promise that waits on I/O (a request against a restarted Redis) in real time. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = Infinity): Promise<T> {
  if (timeoutMs === Infinity) return promise;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}
