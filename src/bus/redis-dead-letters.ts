import type { Redis } from 'ioredis';
import { MAX_DEAD_LETTER_RAW_CHARS, type DeadLetter, type DeadLetterSink } from '../protocol/index.js';
import { entriesOf, fieldValue } from './redis-entries.js';

/** Dead letters in a trimmed stream next to the streams they came from, readable by any process. */
export class RedisDeadLetters implements DeadLetterSink {
  constructor(
    private readonly redis: Redis,
    /** Usually `redisKeys(prefix).deadLetters`. */
    readonly key: string,
    readonly maxLen = 10_000,
  ) {}

  async record(letter: DeadLetter): Promise<void> {
    await this.redis.xadd(
      this.key,
      'MAXLEN',
      '~',
      this.maxLen,
      '*',
      'source',
      letter.source,
      'code',
      letter.code,
      'reason',
      letter.reason,
      'raw',
      letter.raw.slice(0, MAX_DEAD_LETTER_RAW_CHARS),
      'receivedAt',
      String(letter.receivedAt),
    );
  }

  /** The newest `limit` letters, oldest first. */
  async list(limit = 100): Promise<DeadLetter[]> {
    const newestFirst = entriesOf((await this.redis.xrevrange(this.key, '+', '-', 'COUNT', limit)) as [string, string[]][]);
    return newestFirst.reverse().map(({ fields }) => ({
      source: fieldValue(fields, 'source') ?? '',
      code: fieldValue(fields, 'code') ?? '',
      reason: fieldValue(fields, 'reason') ?? '',
      raw: fieldValue(fields, 'raw') ?? '',
      receivedAt: Number(fieldValue(fields, 'receivedAt') ?? 0),
    }));
  }
}
