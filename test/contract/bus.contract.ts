import { describe, it, expect, afterEach } from 'vitest';
import {
  createResponse,
  ManualClock,
  OrchestraError,
  ValidationError,
  type DeadLetter,
  type Logger,
  type Message,
} from '../../src/protocol/index.js';
import {
  BusClosedError,
  InboxFullError,
  RemoteError,
  RequestTimeoutError,
  type Bus,
  type BusOptions,
  type SubscriptionTarget,
} from '../../src/bus/index.js';
import { eventually, message, recordingLogger, settledState, type LogLine } from '../bus/support.js';

/** What one backend gives the contract: buses that reach each other, and a look at what they refused. */
export interface BusHarness {
  bus: Bus;
  /** Another process on the same backend (same broker, same Redis and prefix). */
  makePeer(): Promise<Bus>;
  /** Every dead letter the harness's buses recorded, oldest first. */
  deadLetters(): Promise<DeadLetter[]>;
  /** Puts raw text where a message would arrive, bypassing outgoing validation. */
  inject(target: SubscriptionTarget, raw: string): Promise<void>;
  /** Closes every bus the harness made and removes what they left behind. */
  cleanup(): Promise<void>;
}

export interface BusHarnessContext {
  clock: ManualClock;
  logger: Logger;
  options: BusOptions;
}

export type MakeBusHarness = (ctx: BusHarnessContext) => Promise<BusHarness>;

/** The behaviour every `Bus` backend must show, run unchanged against each of them. */
export function busContract(name: string, makeHarness: MakeBusHarness): void {
  describe(`Bus contract: ${name}`, () => {
    let harness: BusHarness | undefined;
    let clock: ManualClock;
    let log: { lines: LogLine[]; warnings(): LogLine[] };

    async function setup(options: BusOptions = {}) {
      clock = new ManualClock();
      const recording = recordingLogger();
      log = recording;
      harness = await makeHarness({ clock, logger: recording.logger, options });
      return harness;
    }

    afterEach(async () => {
      await harness?.cleanup();
      harness = undefined;
    });

    const command = (data: Message['data'] = {}, to = 'alice') => message(clock, { type: 'command', action: 'do_work', to, data });
    const request = (data: Message['data'] = {}, to = 'svc') => message(clock, { type: 'request', action: 'compute', to, data });

    /** A responder that answers every request on `inbox` with `answer(request)`. */
    async function serve(bus: Bus, inbox: string, answer: (req: Message) => Message['data']) {
      return bus.subscribe({ inbox }, async (req) => {
        await bus.send(createResponse(req, inbox, { data: answer(req) }, clock.now()));
      });
    }

    describe('inboxes', () => {
      it('delivers a sent message to the subscriber of its inbox, as a copy, never inside send', async () => {
        const { bus, makePeer } = await setup();
        const peer = await makePeer();
        const received: Message[] = [];
        await peer.subscribe({ inbox: 'alice' }, (m) => void received.push(m));
        const sent = command({ n: 1, list: [1, 'two', { three: 3 }] });

        const sending = bus.send(sent);
        expect(received).toHaveLength(0);
        await sending;

        const [got] = await eventually('the message', () => (received.length ? received : null));
        expect(got).toEqual(sent);
        expect(got).not.toBe(sent);
      });

      it('keeps a message sent before anyone subscribes, and delivers it when a subscriber arrives', async () => {
        const { bus, makePeer } = await setup();
        const early = command({ early: true });
        await bus.send(early);

        const peer = await makePeer();
        const received: Message[] = [];
        await peer.subscribe({ inbox: 'alice' }, (m) => void received.push(m));
        await eventually('the early message', () => received.length === 1);
        expect(received[0]!.id).toBe(early.id);
      });

      it('shares 200 messages between two replicas of one inbox, none handled twice and none lost', async () => {
        const { bus, makePeer } = await setup();
        const peer = await makePeer();
        const byReplica: [string[], string[]] = [[], []];
        await bus.subscribe({ inbox: 'workers' }, (m) => void byReplica[0].push(m.id));
        await peer.subscribe({ inbox: 'workers' }, (m) => void byReplica[1].push(m.id));

        const sent: string[] = [];
        for (let i = 0; i < 200; i++) {
          const m = command({ i }, 'workers');
          sent.push(m.id);
          await bus.send(m);
        }

        await eventually('all 200 messages', () => byReplica[0].length + byReplica[1].length >= 200);
        const handled = [...byReplica[0], ...byReplica[1]];
        expect(handled).toHaveLength(200);
        expect(new Set(handled)).toEqual(new Set(sent));
        expect(byReplica[0].length).toBeGreaterThan(0);
        expect(byReplica[1].length).toBeGreaterThan(0);
      });

      it('refuses a send to an inbox already holding inboxMaxLen undelivered messages, and accepts again once it drains', async () => {
        const { bus, makePeer } = await setup({ inboxMaxLen: 5 });
        for (let i = 0; i < 5; i++) await bus.send(command({ i }));
        const refused = await bus.send(command({ i: 5 })).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(InboxFullError);
        expect(refused).toMatchObject({ code: 'ORC_BUS_INBOX_FULL', inbox: 'alice', maxLen: 5, retryable: true });

        const peer = await makePeer();
        const received: Message[] = [];
        await peer.subscribe({ inbox: 'alice' }, (m) => void received.push(m));
        await eventually('the 5 queued messages', () => received.length === 5);
        await eventually('room in the inbox', () => bus.send(command({ i: 6 })).then(() => true, () => false));
        await eventually('the message sent after draining', () => received.length === 6);
        expect(received.map((m) => m.data)).toEqual([0, 1, 2, 3, 4, 6].map((i) => ({ i })));
      });
    });

    describe('topics', () => {
      it('delivers every published event to every subscriber, in order', async () => {
        const { bus, makePeer } = await setup();
        const peer = await makePeer();
        const seen: string[][] = [[], [], []];
        await bus.subscribe({ topic: 'news' }, (m) => void seen[0]!.push(m.id));
        await bus.subscribe({ topic: 'news' }, (m) => void seen[1]!.push(m.id));
        await peer.subscribe({ topic: 'news' }, (m) => void seen[2]!.push(m.id));

        const published: string[] = [];
        for (let i = 0; i < 20; i++) {
          const event = message(clock, { type: 'event', action: 'happened', to: null, data: { i } });
          published.push(event.id);
          await bus.publish('news', event);
        }

        await eventually('every subscriber to see 20 events', () => seen.every((s) => s.length === 20));
        for (const s of seen) expect(s).toEqual(published);
      });

      it('does not deliver events published before the subscription', async () => {
        const { bus } = await setup();
        const before = message(clock, { type: 'event', action: 'happened', to: null });
        await bus.publish('news', before);
        const seen: string[] = [];
        await bus.subscribe({ topic: 'news' }, (m) => void seen.push(m.id));
        const after = message(clock, { type: 'event', action: 'happened', to: null });
        await bus.publish('news', after);
        await eventually('the later event', () => seen.length > 0);
        expect(seen).toEqual([after.id]);
      });
    });

    describe('requests', () => {
      it('resolves a request with the response that answers it', async () => {
        const { bus, makePeer } = await setup();
        const peer = await makePeer();
        await serve(peer, 'svc', (req) => ({ doubled: (req.data as { n: number }).n * 2 }));

        const req = request({ n: 21 });
        const response = await bus.request(req);
        expect(response).toMatchObject({ type: 'response', correlationId: req.id, from: 'svc', to: 'tester', data: { doubled: 42 } });
      });

      it('gives each of many concurrent requests its own response', async () => {
        const { bus, makePeer } = await setup();
        const [a, b] = [await makePeer(), await makePeer()];
        await serve(a, 'svc', (req) => ({ echo: req.data, by: 'a' }));
        await serve(b, 'svc', (req) => ({ echo: req.data, by: 'b' }));

        const requests = Array.from({ length: 60 }, (_, i) => request({ i }));
        const responses = await Promise.all(requests.map((r) => bus.request(r)));
        responses.forEach((response, i) => {
          expect(response.correlationId).toBe(requests[i]!.id);
          expect((response.data as { echo: unknown }).echo).toEqual({ i });
        });
      });

      it('rejects with RequestTimeoutError once timeoutMs has passed on the clock, and not before', async () => {
        const { bus, makePeer } = await setup();
        const silent = await makePeer();
        const heard: Message[] = [];
        await silent.subscribe({ inbox: 'svc' }, (m) => void heard.push(m));

        const req = request();
        const pending = bus.request(req, { timeoutMs: 5_000 });
        const state = settledState(pending);
        await eventually('the receiver to get the request', () => heard.length === 1);

        await clock.advance(4_999);
        expect(state()).toBe('pending');
        await clock.advance(1);
        const err = await pending.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RequestTimeoutError);
        expect(err).toMatchObject({ code: 'ORC_BUS_REQUEST_TIMEOUT', to: 'svc', action: 'compute', timeoutMs: 5_000, correlationId: req.id });
      });

      it('waits requestTimeoutMs by default', async () => {
        const { bus, makePeer } = await setup({ requestTimeoutMs: 1_500 });
        const silent = await makePeer();
        const heard: Message[] = [];
        await silent.subscribe({ inbox: 'svc' }, (m) => void heard.push(m));
        const pending = bus.request(request());
        const state = settledState(pending);
        await eventually('the receiver to get the request', () => heard.length === 1);
        await clock.advance(1_499);
        expect(state()).toBe('pending');
        await clock.advance(1);
        await expect(pending).rejects.toBeInstanceOf(RequestTimeoutError);
      });

      it('drops a response that arrives after its timeout, and never hands it to a later request', async () => {
        const { bus, makePeer } = await setup();
        const peer = await makePeer();
        let releaseFirst!: () => void;
        const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
        let calls = 0;
        await peer.subscribe({ inbox: 'svc' }, async (req) => {
          const call = ++calls;
          if (call === 1) await firstHeld;
          await peer.send(createResponse(req, 'svc', { data: { call } }, clock.now()));
        });

        const first = bus.request(request(), { timeoutMs: 1_000 }).catch((e: unknown) => e);
        await eventually('the first request to arrive', () => calls === 1);
        await clock.advance(1_000);
        expect(await first).toBeInstanceOf(RequestTimeoutError);

        releaseFirst();
        await eventually('the late response to be dropped with a warning', () =>
          log.warnings().some((l) => /after its request timed out/.test(l.msg)),
        );
        const second = request();
        const response = await bus.request(second, { timeoutMs: 1_000 });
        expect(response.correlationId).toBe(second.id);
        expect(response.data).toEqual({ call: 2 });
      });

      it('rejects with RemoteError, carrying the remote code, when the response reports an error', async () => {
        const { bus, makePeer } = await setup();
        const peer = await makePeer();
        await peer.subscribe({ inbox: 'svc' }, async (req) => {
          await peer.send(createResponse(req, 'svc', { error: { code: 'ORC_REGISTRY_TASK_NOT_FOUND', message: 'no task t1' } }, clock.now()));
        });
        const err = await bus.request(request()).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RemoteError);
        expect(err).toMatchObject({ code: 'ORC_BUS_REMOTE_ERROR', remoteCode: 'ORC_REGISTRY_TASK_NOT_FOUND' });
        expect((err as RemoteError).response.error).toEqual({ code: 'ORC_REGISTRY_TASK_NOT_FOUND', message: 'no task t1' });
      });

      it('answers a request whose handler throws with the error, without waiting for the timeout', async () => {
        const { bus, makePeer, deadLetters } = await setup();
        const peer = await makePeer();
        await peer.subscribe({ inbox: 'svc' }, async () => {
          throw new OrchestraError('ORC_REGISTRY_TASK_NOT_FOUND', 'no task t9');
        });
        const err = await bus.request(request()).catch((e: unknown) => e);
        expect(err).toMatchObject({ remoteCode: 'ORC_REGISTRY_TASK_NOT_FOUND' });
        const letters = await eventually('the dead letter', async () => ((await deadLetters()).length ? deadLetters() : null));
        expect(letters[0]).toMatchObject({ source: 'inbox:svc', code: 'ORC_BUS_HANDLER_FAILED' });
        expect(letters[0]!.reason).toContain('no task t9');
      });

      it('stops waiting when the caller aborts', async () => {
        const { bus } = await setup();
        const abort = new AbortController();
        const pending = bus.request(request(), { signal: abort.signal });
        abort.abort(new Error('caller gave up'));
        await expect(pending).rejects.toThrow('caller gave up');
      });
    });

    describe('validation', () => {
      it('refuses an invalid outgoing message with a ValidationError naming the field, and sends nothing', async () => {
        const { bus, makePeer } = await setup({ maxMessageBytes: 10_000 });
        const peer = await makePeer();
        const received: Message[] = [];
        await peer.subscribe({ inbox: 'alice' }, (m) => void received.push(m));

        const fieldOf = async (attempt: Promise<unknown>) => {
          const err = await attempt.catch((e: unknown) => e);
          expect(err).toBeInstanceOf(ValidationError);
          return (err as ValidationError).issues[0];
        };
        expect(await fieldOf(bus.send({ ...command(), action: 'not valid!' }))).toMatchObject({ path: 'action' });
        expect(await fieldOf(bus.send({ ...command(), from: '' }))).toMatchObject({ path: 'from', code: 'ORC_PROTOCOL_OUT_OF_RANGE' });
        expect(await fieldOf(bus.send({ ...command(), to: null }))).toMatchObject({ path: 'to', code: 'ORC_PROTOCOL_MISSING_FIELD' });
        expect(await fieldOf(bus.send({ ...command(), extra: 1 } as Message))).toMatchObject({ code: 'ORC_PROTOCOL_UNKNOWN_FIELD' });
        expect(await fieldOf(bus.send(command({ blob: 'x'.repeat(20_000) })))).toMatchObject({ code: 'ORC_PROTOCOL_TOO_LARGE' });
        expect(await fieldOf(bus.publish('news', { ...command(), data: { n: Number.NaN } }))).toMatchObject({ path: 'data.n' });
        expect(await fieldOf(bus.publish('bad topic', command()))).toMatchObject({ path: '(root)' });
        expect(await fieldOf(bus.request({ ...request(), timestamp: -1 }))).toMatchObject({ path: 'timestamp' });
        expect(await fieldOf(bus.request(command()))).toMatchObject({ path: 'type' });
        expect(await fieldOf(bus.subscribe({ inbox: '' }, () => undefined))).toBeDefined();

        const good = command({ ok: true });
        await bus.send(good);
        await eventually('the valid message', () => received.length > 0);
        expect(received.map((m) => m.id)).toEqual([good.id]);
      });

      it('dead-letters malformed incoming messages with their reason, and goes on handling good ones', async () => {
        const { bus, makePeer, inject, deadLetters } = await setup({ maxMessageBytes: 10_000 });
        const peer = await makePeer();
        const received: Message[] = [];
        await peer.subscribe({ inbox: 'alice' }, (m) => void received.push(m));
        const valid = command();
        const malformed: [raw: string, code: string][] = [
          ['{"type": "command", ', 'ORC_PROTOCOL_INVALID_JSON'],
          [JSON.stringify({ ...valid, id: undefined }), 'ORC_PROTOCOL_MISSING_FIELD'],
          [JSON.stringify({ ...valid, timestamp: 'yesterday' }), 'ORC_PROTOCOL_WRONG_TYPE'],
          [JSON.stringify({ ...valid, sneaky: true }), 'ORC_PROTOCOL_UNKNOWN_FIELD'],
          [JSON.stringify({ ...valid, type: 'gossip' }), 'ORC_PROTOCOL_INVALID_VALUE'],
          [JSON.stringify({ ...valid, data: 'x'.repeat(20_000) }), 'ORC_PROTOCOL_TOO_LARGE'],
        ];

        const good: string[] = [];
        for (const [raw] of malformed) {
          await inject({ inbox: 'alice' }, raw);
          const m = command();
          good.push(m.id);
          await bus.send(m);
        }

        await eventually('every good message', () => received.length === good.length);
        expect(received.map((m) => m.id).sort()).toEqual([...good].sort());
        const letters = await eventually('every dead letter', async () => {
          const all = await deadLetters();
          return all.length >= malformed.length ? all : null;
        });
        expect(letters.map((l) => l.code).sort()).toEqual(malformed.map(([, code]) => code).sort());
        for (const letter of letters) {
          expect(letter.source).toBe('inbox:alice');
          expect(letter.reason).toMatch(/invalid message/);
          expect(letter.raw.length).toBeGreaterThan(0);
        }
      });

      it('answers a malformed request with an error, so its caller does not wait for the timeout', async () => {
        const { bus, makePeer, inject } = await setup();
        const peer = await makePeer();
        // The request goes to an inbox where a silent subscriber sees it as sent (with its reply address)…
        const seen: Message[] = [];
        await peer.subscribe({ inbox: 'void' }, (m) => void seen.push(m));
        await peer.subscribe({ inbox: 'svc' }, () => {
          throw new Error('a malformed request must never reach a handler');
        });
        const pending = bus.request(request({}, 'void'), { timeoutMs: 60_000 });
        const [sent] = await eventually('the request', () => (seen.length ? seen : null));

        // …and a damaged copy of it reaches the service, which can still tell who asked.
        await inject({ inbox: 'svc' }, JSON.stringify({ ...sent, to: 'svc', data: { n: Number.MAX_VALUE }, unexpected: 1 }));
        const err = await pending.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RemoteError);
        expect(err).toMatchObject({ remoteCode: 'ORC_PROTOCOL_UNKNOWN_FIELD' });
        expect((err as RemoteError).response.from).toBe('svc');
      });

      it('keeps handling after a handler throws, and dead-letters the message that failed', async () => {
        const { bus, makePeer, deadLetters } = await setup();
        const peer = await makePeer();
        const handled: unknown[] = [];
        await peer.subscribe({ inbox: 'alice' }, (m) => {
          if ((m.data as { fail?: boolean }).fail) throw new Error('cannot do that');
          handled.push(m.data);
        });
        await bus.send(command({ fail: true }));
        await bus.send(command({ n: 1 }));
        await bus.send(command({ fail: true }));
        await bus.send(command({ n: 2 }));

        await eventually('the good messages', () => handled.length === 2);
        const letters = await eventually('two dead letters', async () => ((await deadLetters()).length === 2 ? deadLetters() : null));
        for (const letter of letters) {
          expect(letter).toMatchObject({ source: 'inbox:alice', code: 'ORC_BUS_HANDLER_FAILED' });
          expect(letter.reason).toContain('cannot do that');
          expect(JSON.parse(letter.raw)).toMatchObject({ data: { fail: true } });
        }
        expect(log.lines.some((l) => l.level === 50 && /handler failed/.test(l.msg))).toBe(true);
      });
    });

    describe('unsubscribe and close', () => {
      it('stops delivery to an unsubscribed handler; its inbox keeps messages for the next subscriber', async () => {
        const { bus, makePeer } = await setup();
        const gone: Message[] = [];
        const subscription = await bus.subscribe({ inbox: 'alice' }, (m) => void gone.push(m));
        await subscription.unsubscribe();
        const m = command();
        await bus.send(m);

        const peer = await makePeer();
        const received: Message[] = [];
        await peer.subscribe({ inbox: 'alice' }, (x) => void received.push(x));
        await eventually('the message at the new subscriber', () => received.length === 1);
        expect(received[0]!.id).toBe(m.id);
        expect(gone).toHaveLength(0);
      });

      it('stops delivering events to an unsubscribed topic subscriber', async () => {
        const { bus } = await setup();
        const gone: string[] = [];
        const kept: string[] = [];
        const subscription = await bus.subscribe({ topic: 'news' }, (m) => void gone.push(m.id));
        await bus.subscribe({ topic: 'news' }, (m) => void kept.push(m.id));
        const first = message(clock, { type: 'event', action: 'happened', to: null });
        await bus.publish('news', first);
        await eventually('the first event at both', () => gone.length === 1 && kept.length === 1);

        await subscription.unsubscribe();
        const second = message(clock, { type: 'event', action: 'happened', to: null });
        await bus.publish('news', second);
        await eventually('the second event at the remaining subscriber', () => kept.length === 2);
        expect(gone).toEqual([first.id]);
      });

      it('fails waiting requests with BusClosedError on close, and refuses any further use', async () => {
        const { bus } = await setup();
        const pending = bus.request(request({}, 'nobody'), { timeoutMs: 60_000 }).catch((e: unknown) => e);
        await bus.close();
        expect(await pending).toBeInstanceOf(BusClosedError);
        await expect(bus.send(command())).rejects.toMatchObject({ code: 'ORC_BUS_CLOSED' });
        await expect(bus.publish('news', command())).rejects.toBeInstanceOf(BusClosedError);
        await expect(bus.request(request())).rejects.toBeInstanceOf(BusClosedError);
        await expect(bus.subscribe({ inbox: 'alice' }, () => undefined)).rejects.toBeInstanceOf(BusClosedError);
        await bus.close();
      });

      it('hands a closed replica’s share of an inbox to the live ones', async () => {
        const { bus, makePeer } = await setup();
        const sender = await makePeer();
        const live = await makePeer();
        const closedGot: string[] = [];
        const liveGot: string[] = [];
        await bus.subscribe({ inbox: 'workers' }, (m) => void closedGot.push(m.id));
        await live.subscribe({ inbox: 'workers' }, (m) => void liveGot.push(m.id));
        await bus.close();

        for (let i = 0; i < 10; i++) await sender.send(command({ i }, 'workers'));
        await eventually('all 10 at the live replica', () => liveGot.length === 10);
        expect(closedGot).toHaveLength(0);
      });
    });
  });
}
