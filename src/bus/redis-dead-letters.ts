import type { Redis } from 'ioredis';
import { MAX_DEAD_LETTER_RAW_CHARS, type DeadLetter, type DeadLetterSink } from '../protocol/index.js';

/** Dead letters in a trimmed Redis stream, next to the streams they came from. */
export class RedisDeadLetters implements DeadLetterSink {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly maxLen = 10_000,
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
    const entries = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', limit);
    return entries.reverse().map(([, fields]) => {
      const f = fieldsToObject(fields);
      return { source: f.source ?? '', code: f.code ?? '', reason: f.reason ?? '', raw: f.raw ?? '', receivedAt: Number(f.receivedAt ?? 0) };
    });
  }
}

export function fieldsToObject(fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!;
  return out;
}
