import type { ErrorCode } from './errors.js';

/** A message that could not be delivered, kept with the reason it was refused. */
export interface DeadLetter {
  /** Where it was found: a stream, an inbox, a topic. */
  source: string;
  code: ErrorCode | string;
  reason: string;
  /** The raw text as received (cut to a bounded length). */
  raw: string;
  receivedAt: number;
}

/** Receives dead letters; the bus writes to one, the operator reads it. */
export interface DeadLetterSink {
  record(letter: DeadLetter): Promise<void>;
}

export const MAX_DEAD_LETTER_RAW_CHARS = 64 * 1024;
