import { MAX_DEAD_LETTER_RAW_CHARS, type DeadLetter, type DeadLetterSink } from '../protocol/index.js';
import type { Db } from './db.js';

const INSERT_DEAD_LETTER = `INSERT INTO dead_letters (source, code, reason, raw, received_at) VALUES ($1, $2, $3, $4, $5)`;
const LIST_DEAD_LETTERS = `SELECT source, code, reason, raw, received_at FROM dead_letters ORDER BY id DESC LIMIT $1`;

/** Dead letters kept in the store, where an operator finds them after any restart. */
export class StoreDeadLetters implements DeadLetterSink {
  constructor(private readonly db: Db) {}

  async record(letter: DeadLetter): Promise<void> {
    await this.db.query(INSERT_DEAD_LETTER, [
      letter.source,
      letter.code,
      letter.reason,
      letter.raw.slice(0, MAX_DEAD_LETTER_RAW_CHARS),
      new Date(letter.receivedAt),
    ]);
  }

  async list(limit = 100): Promise<DeadLetter[]> {
    const rows = await this.db.query<{ source: string; code: string; reason: string; raw: string; received_at: Date }>(
      LIST_DEAD_LETTERS,
      [limit],
    );
    return rows.map((r) => ({ source: r.source, code: r.code, reason: r.reason, raw: r.raw, receivedAt: r.received_at.getTime() }));
  }
}
