import { MAX_DEAD_LETTER_RAW_CHARS, type DeadLetter, type DeadLetterSink } from '../protocol/index.js';

/** Dead letters kept in memory, newest last, up to a bound: the memory bus's default sink. */
export class MemoryDeadLetters implements DeadLetterSink {
  private readonly letters: DeadLetter[] = [];

  constructor(readonly limit = 10_000) {}

  async record(letter: DeadLetter): Promise<void> {
    this.letters.push({ ...letter, raw: letter.raw.slice(0, MAX_DEAD_LETTER_RAW_CHARS) });
    if (this.letters.length > this.limit) this.letters.splice(0, this.letters.length - this.limit);
  }

  /** The newest `limit` letters (all kept by default), oldest first. */
  list(limit = this.limit): DeadLetter[] {
    return limit > 0 ? this.letters.slice(-limit) : [];
  }
}
