import type { ServerResponse } from 'node:http';
import {
  agentStatusEvent,
  botIsolatedEvent,
  botStatusUpdateEvent,
  campaignFinishedEvent,
  campaignProgressEvent,
  describeError,
  environmentChangeDetectedEvent,
  generationScoredEvent,
  newGenerationCreatedEvent,
  studyFinishedEvent,
  taskCancelledEvent,
  taskCompletedEvent,
  tasksFinishedEvent,
  topicOf,
  type Clock,
  type EventContract,
  type JsonValue,
  type Logger,
  type Message,
  type TimerHandle,
} from '../protocol/index.js';
import type { Bus, Subscription } from '../bus/index.js';

/** The bus events a client of `/events` can follow: what a person watching the system needs. */
export const STREAMED_EVENTS: readonly EventContract[] = [
  newGenerationCreatedEvent,
  generationScoredEvent,
  studyFinishedEvent,
  environmentChangeDetectedEvent,
  campaignProgressEvent,
  campaignFinishedEvent,
  botStatusUpdateEvent,
  taskCompletedEvent,
  botIsolatedEvent,
  tasksFinishedEvent,
  taskCancelledEvent,
  agentStatusEvent,
];

/** Their topics, each once, in a stable order: what `?topics=` may name. */
export const STREAMED_TOPICS: readonly string[] = [...new Set(STREAMED_EVENTS.map(topicOf))];

export interface EventStreamOptions {
  /** Events kept for clients that come back with `Last-Event-ID`. */
  replayWindow: number;
  /** How often an idle stream gets a comment line, so proxies keep it open. */
  heartbeatMs: number;
  /** A client whose unsent output passes this is too slow to follow, and is dropped. */
  maxBufferedBytes: number;
}

export interface StreamedEvent {
  id: string;
  topic: string;
  action: string;
  from: string;
  timestamp: number;
  data: JsonValue;
}

interface Client {
  res: ServerResponse;
  topics: ReadonlySet<string>;
}

/**
 * Follows the streamed topics on the bus and hands each event to every
 * connected `/events` client that asked for its topic, as Server-Sent
 * Events. Ids are `<stream>-<n>`: a client that comes back with one this
 * stream gave, still inside the replay window, gets what it missed; any other
 * (an older stream, a server restarted since, an id past the window) gets a
 * `reset` event first, saying its picture must be read again.
 */
export class EventStream {
  /** Names this stream (this process's run of it), so ids of another are recognised. */
  private readonly streamId: string;
  private next = 1;
  private readonly recent: StreamedEvent[] = [];
  private readonly clients = new Set<Client>();
  private subscriptions: Subscription[] = [];
  private heartbeat: TimerHandle | undefined;
  private closed = false;
  private readonly observers: ((event: StreamedEvent) => void)[] = [];
  /** Clients dropped for reading too slowly, since the stream started. */
  dropped = 0;

  constructor(
    private readonly deps: { bus: Bus; clock: Clock; logger: Logger },
    private readonly options: EventStreamOptions,
  ) {
    this.streamId = deps.clock.now().toString(36);
  }

  /** Calls `observer` with every event streamed from now on (the metrics count some). */
  observe(observer: (event: StreamedEvent) => void): void {
    this.observers.push(observer);
  }

  get connected(): number {
    return this.clients.size;
  }

  async start(): Promise<void> {
    for (const topic of STREAMED_TOPICS) {
      this.subscriptions.push(await this.deps.bus.subscribe({ topic }, (message) => this.push(topic, message)));
    }
    this.scheduleHeartbeat();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deps.clock.clearTimeout(this.heartbeat);
    for (const client of this.clients) client.res.end();
    this.clients.clear();
    const subscriptions = this.subscriptions.splice(0);
    await Promise.all(subscriptions.map((s) => s.unsubscribe().catch(() => undefined)));
  }

  /**
   * Streams to `res` from now on: first, after `lastEventId`, what the window
   * still holds (or a `reset` when it cannot say what was missed), then every
   * new event on `topics`.
   */
  attach(res: ServerResponse, topics: ReadonlySet<string>, lastEventId: string | undefined): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
      // Tells nginx-like proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    const client: Client = { res, topics };
    if (this.closed) {
      res.end();
      return;
    }
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    // Says how long a browser waits before it reconnects on its own.
    this.write(client, `retry: 2000\n: orchestra events, stream ${this.streamId}\n\n`);
    if (lastEventId !== undefined) {
      const missed = this.since(lastEventId);
      if (missed === undefined) {
        this.write(client, frame({ id: this.lastId(), event: 'reset', data: { reason: `events after ${lastEventId} are no longer held; read the current state again`, stream: this.streamId } }));
      } else {
        for (const event of missed) if (topics.has(event.topic)) this.write(client, eventFrame(event));
      }
    }
  }

  /** The held events after `lastEventId`, or undefined when that id is not one this window can resume from. */
  private since(lastEventId: string): StreamedEvent[] | undefined {
    const match = /^([0-9a-z]+)-(\d+)$/.exec(lastEventId);
    if (!match || match[1] !== this.streamId) return undefined;
    const n = Number(match[2]);
    if (n >= this.next) return undefined;
    const oldest = this.recent.length ? seqOf(this.recent[0]!) : this.next;
    // Resumable when nothing after n has left the window.
    if (n + 1 < oldest) return undefined;
    return this.recent.filter((e) => seqOf(e) > n);
  }

  private lastId(): string {
    return `${this.streamId}-${this.next - 1}`;
  }

  private push(topic: string, message: Message): void {
    const event: StreamedEvent = {
      id: `${this.streamId}-${this.next++}`,
      topic,
      action: message.action,
      from: message.from,
      timestamp: message.timestamp,
      data: message.data,
    };
    for (const observer of this.observers) {
      try {
        observer(event);
      } catch (err) {
        this.deps.logger.warn({ err: describeError(err) }, 'an observer of the event stream failed');
      }
    }
    this.recent.push(event);
    if (this.recent.length > this.options.replayWindow) this.recent.shift();
    if (this.clients.size === 0) return;
    const text = eventFrame(event);
    for (const client of this.clients) if (client.topics.has(topic)) this.write(client, text);
  }

  /** Writes, unless the client's unsent output is past the bound: then it is dropped, not buffered without end. */
  private write(client: Client, text: string): void {
    const { res } = client;
    if (res.destroyed || res.writableEnded) return;
    if (res.writableLength + text.length > this.options.maxBufferedBytes) {
      this.dropped++;
      this.clients.delete(client);
      this.deps.logger.warn({ buffered: res.writableLength, limit: this.options.maxBufferedBytes }, 'dropping an /events client that reads too slowly; it may reconnect with Last-Event-ID');
      res.destroy();
      return;
    }
    try {
      res.write(text);
    } catch (err) {
      this.clients.delete(client);
      this.deps.logger.debug({ err: describeError(err) }, 'an /events client went away');
    }
  }

  private scheduleHeartbeat(): void {
    if (this.closed) return;
    this.heartbeat = this.deps.clock.setTimeout(() => {
      for (const client of this.clients) this.write(client, ': heartbeat\n\n');
      this.scheduleHeartbeat();
    }, this.options.heartbeatMs);
  }
}

const seqOf = (event: StreamedEvent): number => Number(event.id.slice(event.id.lastIndexOf('-') + 1));

function eventFrame(event: StreamedEvent): string {
  const { id, action, ...rest } = event;
  return frame({ id, event: action, data: { action, ...rest } });
}

/** One SSE frame. JSON never holds a raw newline, so `data` is one line. */
function frame(f: { id: string; event: string; data: unknown }): string {
  return `id: ${f.id}\nevent: ${f.event}\ndata: ${JSON.stringify(f.data)}\n\n`;
}
