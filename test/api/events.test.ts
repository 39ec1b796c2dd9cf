import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from 'vitest';
import { createMessage, createRng, ManualClock, type JsonValue } from '../../src/protocol/index.js';
import { IN_MEMORY, migrate, openPglite, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createMemoryBus, type Bus } from '../../src/bus/index.js';
import { createApiServer, createToken, ProcessTelemetry, type ApiOptions, type ApiServer } from '../../src/api/index.js';
import { TaskWorker } from '../../src/agents/index.js';

const NOW = Date.UTC(2026, 0, 1);

interface Frame {
  id?: string;
  event?: string;
  data?: { action: string; topic: string; from: string; data: JsonValue } & Record<string, unknown>;
  comment?: string;
}

/** Reads Server-Sent Events frames off a streaming response, one at a time. */
class SseReader {
  private buffer = '';
  private readonly frames: Frame[] = [];
  private waiting: (() => void) | undefined;
  ended = false;

  constructor(private readonly body: ReadableStream<Uint8Array>) {
    void this.pump();
  }

  private async pump(): Promise<void> {
    const decoder = new TextDecoder();
    const reader = this.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          this.frames.push(parse(this.buffer.slice(0, end)));
          this.buffer = this.buffer.slice(end + 2);
        }
        this.waiting?.();
      }
    } catch {
      // The connection was cut: `ended` says so.
    }
    this.ended = true;
    this.waiting?.();
  }

  /** The next frame that is an event (not a comment). Waits as long as the test's own limit. */
  async next(): Promise<Frame> {
    for (;;) {
      const i = this.frames.findIndex((f) => f.event !== undefined);
      if (i >= 0) return this.frames.splice(0, i + 1).at(-1)!;
      if (this.ended) throw new Error('the stream ended');
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  /** Waits for a comment line holding `text`. */
  async comment(text: string): Promise<void> {
    for (;;) {
      const i = this.frames.findIndex((f) => f.comment?.includes(text));
      if (i >= 0) {
        this.frames.splice(0, i + 1);
        return;
      }
      if (this.ended) throw new Error('the stream ended');
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}

function parse(block: string): Frame {
  const frame: Frame = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) frame.comment = `${frame.comment ?? ''}${line.slice(1).trim()}`;
    else if (line.startsWith('id: ')) frame.id = line.slice(4);
    else if (line.startsWith('event: ')) frame.event = line.slice(7);
    else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6)) as Frame['data'];
  }
  return frame;
}

describe('/events: the bus events as Server-Sent Events', () => {
  let db: Db;
  let clock: ManualClock;
  let bus: Bus;
  let app: ApiServer;
  let base: string;
  const tokens: Record<'admin' | 'viewer' | 'bot', string> = { admin: '', viewer: '', bot: '' };
  const aborts: AbortController[] = [];

  async function serve(options: ApiOptions = {}): Promise<void> {
    app = await createApiServer({ db, registry: new TaskRegistry({ db, clock, rng: createRng(1) }), clock, bus }, { rateLimitPerMinute: 100_000, ...options });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  // One store for the file (opening PGlite is the slow part); a bus and a server per test.
  beforeAll(async () => {
    db = await openPglite({ dataDir: IN_MEMORY, schema: 'orchestra' });
    await migrate(db, NOW);
    for (const role of ['admin', 'viewer', 'bot'] as const) tokens[role] = (await createToken(db, { name: role, role }, NOW)).token;
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => {
    clock = new ManualClock(NOW);
    bus = createMemoryBus({ clock });
  });
  afterEach(async () => {
    for (const a of aborts.splice(0)) a.abort();
    await app?.close();
    await bus.close();
  });

  const open = async (query = '', headers: Record<string, string> = {}, token = tokens.viewer) => {
    const abort = new AbortController();
    aborts.push(abort);
    const res = await fetch(`${base}/events${query}`, { headers: { authorization: `Bearer ${token}`, ...headers }, signal: abort.signal });
    return { res, abort, reader: res.ok ? new SseReader(res.body!) : undefined };
  };

  const publish = (topic: string, action: string, data: Record<string, JsonValue>) =>
    bus.publish(topic, createMessage({ type: 'event', from: 'tester', to: null, action, data }, clock.now()));

  it('refuses a request without a token (401), from a bot (403), and a topic it does not stream (400, naming it)', async () => {
    await serve();
    expect((await fetch(`${base}/events`)).status).toBe(401);
    const bot = await open('', {}, tokens.bot);
    expect(bot.res.status).toBe(403);
    const wrong = await open('?topics=experiments,nonsense');
    expect(wrong.res.status).toBe(400);
    expect(await wrong.res.json()).toMatchObject({ code: 'ORC_API_INVALID_REQUEST', message: expect.stringContaining('unknown topic nonsense') });
  });

  it('streams to a viewer the events of the topics it asked for, with their ids and names', async () => {
    await serve();
    const { res, reader } = await open('?topics=experiments,campaigns');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await publish('fleet.status', 'bot_status_update', { botId: 'b1' });
    await publish('experiments', 'generation_scored', { studyId: 's', generation: 0 });
    await publish('campaigns', 'campaign_progress', { campaignId: 'c1' });
    const first = await reader!.next();
    expect(first).toMatchObject({ event: 'generation_scored', data: { topic: 'experiments', action: 'generation_scored', from: 'tester', data: { studyId: 's', generation: 0 } } });
    const second = await reader!.next();
    expect(second).toMatchObject({ event: 'campaign_progress', data: { topic: 'campaigns', data: { campaignId: 'c1' } } });
    // The fleet event came first on the bus and was not asked for; ids count every streamed event.
    const [stream, n1] = first.id!.split('-');
    expect(second.id).toBe(`${stream}-${Number(n1) + 1}`);
  });

  it('sends a reconnecting client what it missed after its Last-Event-ID, and nothing twice', async () => {
    await serve();
    const a = await open();
    for (let i = 0; i < 3; i++) await publish('experiments', 'new_generation_created', { i });
    const seen = [await a.reader!.next(), await a.reader!.next(), await a.reader!.next()];
    a.abort.abort();
    for (let i = 3; i < 6; i++) await publish('experiments', 'new_generation_created', { i });

    const b = await open('', { 'last-event-id': seen[1]!.id! });
    const again = [await b.reader!.next(), await b.reader!.next(), await b.reader!.next(), await b.reader!.next()];
    expect(again.map((f) => (f.data!.data as { i: number }).i)).toEqual([2, 3, 4, 5]);
    await publish('experiments', 'new_generation_created', { i: 6 });
    expect(((await b.reader!.next()).data!.data as { i: number }).i).toBe(6);
  });

  it('tells a client whose Last-Event-ID is past the replay window, or from another stream, to read the state again', async () => {
    await serve({ eventReplayWindow: 3 });
    const a = await open();
    await publish('experiments', 'new_generation_created', { i: 0 });
    const first = await a.reader!.next();
    for (let i = 1; i < 6; i++) await publish('experiments', 'new_generation_created', { i });

    const late = await open('', { 'last-event-id': first.id! });
    expect(await late.reader!.next()).toMatchObject({ event: 'reset', data: { reason: expect.stringContaining(first.id!) } });
    const foreign = await open('?lastEventId=zz-12');
    expect(await foreign.reader!.next()).toMatchObject({ event: 'reset' });
    // Live events follow the reset.
    await publish('experiments', 'new_generation_created', { i: 6 });
    expect(((await foreign.reader!.next()).data!.data as { i: number }).i).toBe(6);
  });

  it('counts the attempts the workers announce on the bus in latency histograms', async () => {
    await serve();
    const metrics = async () => (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${tokens.viewer}` } })).text();
    await publish('tasks.finished', 'tasks_finished', {
      tasks: [
        { taskId: 't1', kind: 'resize', status: 'COMPLETED', attempt: 1, durationMs: 40, waitedMs: 3 },
        { taskId: 't2', kind: 'resize', status: 'FAILED', attempt: 1, durationMs: 2_000, waitedMs: 700 },
      ],
    });
    // A malformed one is not counted.
    await publish('tasks.finished', 'tasks_finished', { tasks: [{ taskId: 't3', kind: 'resize' }] });
    const text = await metrics();
    expect(text).toContain('orchestra_task_run_seconds_count{kind="resize",status="COMPLETED"} 1');
    expect(text).toContain('orchestra_task_run_seconds_bucket{le="0.05",kind="resize",status="COMPLETED"} 1');
    expect(text).toContain('orchestra_task_run_seconds_count{kind="resize",status="FAILED"} 1');
    expect(text).toContain('orchestra_task_wait_seconds_count{kind="resize"} 2');
    expect(text).toContain('orchestra_task_wait_seconds_bucket{le="0.005",kind="resize"} 1');
  });

  it('is ready while the store and the bus answer, and says which does not', async () => {
    await serve();
    const ready = async () => {
      const res = await fetch(`${base}/readyz`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
      return { status: res.status, body: await res.json() };
    };
    expect(await ready()).toEqual({ status: 200, body: { ready: true, store: true, bus: true, loops: 0, stuck: [] } });
    await bus.close();
    expect(await ready()).toEqual({ status: 503, body: { ready: false, store: true, bus: false, loops: 0, stuck: [] } });
  });

  it("counts this process's bus requests and claims, and is not ready while a worker's claim loop is stuck", async () => {
    const telemetry = new ProcessTelemetry();
    await bus.close();
    bus = createMemoryBus({ clock, telemetry });
    const registry = new TaskRegistry({ db, clock, rng: createRng(1), telemetry });
    app = await createApiServer({ db, registry, clock, bus, telemetry }, { rateLimitPerMinute: 100_000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const get = async (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${tokens.viewer}` } });

    // A request nobody answers times out, and is counted so.
    const unanswered = bus.request(createMessage({ type: 'request', from: 'tester', to: 'nobody', action: 'ping', data: {} }, clock.now()), { timeoutMs: 1_000 }).catch((e: unknown) => e);
    await clock.advance(1_000);
    expect(await unanswered).toBeInstanceOf(Error);

    // The store stops answering one worker's claims.
    const realClaim = registry.claim.bind(registry);
    let release: (() => void) | undefined;
    let hang = false;
    registry.claim = (request) => (hang ? new Promise((resolve) => (release = () => resolve([])) as never) : realClaim(request));
    const worker = new TaskWorker({ registry, clock, workerId: 'w1', handlers: { resize: async () => ({}) } });
    await worker.start();
    await worker.whenIdle();
    const ready = async () => {
      const res = await get('/readyz');
      return { status: res.status, body: (await res.json()) as { ready: boolean; loops: number; stuck: { name: string; problem: string }[] } };
    };
    expect(await ready()).toMatchObject({ status: 200, body: { ready: true, loops: 1, stuck: [] } });
    hang = true;
    await clock.advance(worker.config.pollIntervalMs);
    expect(release, 'the worker claimed again on its poll').toBeDefined();
    await clock.advance(31_000);
    expect(await ready()).toEqual({
      status: 503,
      body: { ready: false, store: true, bus: true, loops: 1, stuck: [{ name: 'worker w1', problem: 'its claim has waited 31 s for the store' }] },
    });
    release!();
    hang = false;
    await clock.advance(worker.config.pollIntervalMs);
    expect(await ready()).toMatchObject({ status: 200, body: { ready: true, stuck: [] } });
    await worker.stop();
    expect(await ready()).toMatchObject({ status: 200, body: { loops: 0 } });

    const text = await (await get('/metrics')).text();
    expect(text).toContain('orchestra_bus_request_seconds_count{action="ping",outcome="timed_out"} 1');
    expect(text).toMatch(/orchestra_task_claim_seconds_count\{outcome="empty"\} [1-9]/);
  });

  it('keeps an idle stream open with a heartbeat comment', async () => {
    await serve({ eventHeartbeatMs: 5_000 });
    const { reader } = await open();
    await clock.advance(5_000);
    await reader!.comment('heartbeat');
  });

  it('drops a client that stops reading once its unsent output passes the bound, and keeps serving the others', async () => {
    const bound = 256 * 1024;
    await serve({ eventClientBufferBytes: bound });
    // A client that sends its request and then never reads a byte.
    const stalled = net.connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise<void>((resolve) => stalled.once('connect', () => resolve()));
    stalled.pause();
    stalled.write(`GET /events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${tokens.viewer}\r\n\r\n`);
    const metric = async (name: string) => {
      const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${tokens.viewer}` } })).text();
      return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    };
    for (;;) {
      if ((await metric('orchestra_api_event_clients')) === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const live = await open();
    const chunk = 'x'.repeat(16 * 1024);
    // Far more than the kernel's socket buffers and the bound together; bounded in count.
    let sent = 0;
    while ((await metric('orchestra_api_event_clients_dropped')) === 0) {
      expect(sent, 'the stalled client was never dropped').toBeLessThan(4_000);
      // A few at a time, so the live client, which reads, keeps up.
      for (let i = 0; i < 4; i++) await publish('experiments', 'new_generation_created', { i: sent++, chunk });
      for (let i = 0; i < 4; i++) await live.reader!.next();
    }
    expect(await metric('orchestra_api_event_clients')).toBe(1);
    await publish('experiments', 'new_generation_created', { i: -1 });
    expect(((await live.reader!.next()).data!.data as { i: number }).i).toBe(-1);
    stalled.destroy();
  });
});
