import type { Redis } from 'ioredis';
import { BlockingReader, type ReaderDeps } from './redis-reader.js';
import { inOneWrite } from './redis-connection.js';
import { compareStreamIds, entriesOfReadReply, type StreamEntry } from './redis-entries.js';

export interface FollowerDeps extends ReaderDeps {
  /** `$`: only what is added after `start`; `0-0`: everything the stream holds. */
  from: '$' | '0-0';
  handle(entry: StreamEntry): Promise<void>;
  /**
   * Reply streams are read by one reader only: delete what it has read. Its
   * position already keeps it from reading an entry twice; deleting only keeps
   * the stream short.
   */
  deleteRead?: boolean;
}

/**
 * Reads every entry of a stream on its own (plain XREAD), for topics and reply
 * streams. It remembers the last id it read, so after a reconnect it goes on
 * where it stopped and loses nothing.
 */
export class StreamFollower extends BlockingReader {
  private lastId = '0-0';

  constructor(private readonly follow: FollowerDeps) {
    super(follow);
  }

  /** `$` is turned into a concrete id now: "new from the subscription on", not "new from whenever the next read happens". */
  protected async prepare(): Promise<void> {
    if (this.follow.from === '$') this.lastId = (await this.lastGeneratedId()) ?? '0-0';
  }

  protected async read(conn: Redis, count: number): Promise<StreamEntry[]> {
    const reply = await conn.xread('COUNT', count, 'BLOCK', this.follow.config.blockMs, 'STREAMS', this.follow.key, this.lastId);
    return entriesOfReadReply(reply);
  }

  /**
   * The position moves, and read entries are deleted, only for entries that
   * are handled: a read given up on (by the watchdog, say) and answered anyway
   * must leave its entries for the next read, or a response would be lost.
   */
  protected override accept(entries: StreamEntry[]): void {
    const last = entries[entries.length - 1];
    if (!last) return;
    this.lastId = last.id;
    // One XDEL per batch, not per entry, and not awaited: nothing waits on it, and one that
    // fails leaves entries that the stream's trimming and expiry remove in time.
    if (this.follow.deleteRead) inOneWrite(this.follow.commands).xdel(this.follow.key, ...entries.map((e) => e.id)).catch(() => undefined);
  }

  protected async handle(entry: StreamEntry): Promise<void> {
    await this.follow.handle(entry);
  }

  protected async recover(): Promise<void> {
    await this.resync();
  }

  protected override async resume(): Promise<void> {
    await this.resync();
  }

  /**
   * A Redis restarted without its data starts the stream again, and if its
   * clock is behind, new ids can be lower than the one remembered: those
   * entries would never be read. A stream that is gone, or was last written
   * below our position, is new: read it from the start.
   */
  private async resync(): Promise<void> {
    const newest = await this.lastGeneratedId();
    if (newest === null || compareStreamIds(newest, this.lastId) < 0) this.lastId = '0-0';
  }

  private async lastGeneratedId(): Promise<string | null> {
    try {
      const info = (await this.follow.commands.xinfo('STREAM', this.follow.key)) as unknown[];
      const at = info.indexOf('last-generated-id');
      return at >= 0 ? String(info[at + 1]) : null;
    } catch (err) {
      if (/no such key/i.test(String((err as Error).message))) return null;
      throw err;
    }
  }
}
