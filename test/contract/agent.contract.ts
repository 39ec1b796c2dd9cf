import { describe, it, expect, afterEach } from 'vitest';
import { z } from 'zod';
import {
  createMessage,
  createRng,
  defineCommand,
  defineEvent,
  defineRequest,
  getStatusRequest,
  ManualClock,
  OrchestraError,
  type JsonValue,
  type Message,
} from '../../src/protocol/index.js';
import { RemoteError, RequestTimeoutError, type Bus, type BusOptions } from '../../src/bus/index.js';
import { BaseAgent, type AgentDeps } from '../../src/agents/index.js';
import { eventually, recordingLogger, type LogLine } from '../bus/support.js';
import type { BusHarness, MakeBusHarness } from './bus.contract.js';

const add = defineRequest({
  name: 'add',
  to: 'calc',
  data: z.object({ a: z.number(), b: z.number() }).strict(),
  reply: z.object({ sum: z.number(), by: z.string() }),
});
const explode = defineRequest({ name: 'explode', to: 'calc', data: z.object({}), reply: z.object({}) });
const refuse = defineRequest({ name: 'refuse', to: 'calc', data: z.object({}), reply: z.object({}) });
// The reply passes its schema and still cannot travel: NaN is no JSON.
const notJson = defineRequest({ name: 'not_json', to: 'calc', data: z.object({}), reply: z.object({ n: z.unknown() }) });
const slowRequest = defineRequest({ name: 'slow', to: 'calc', data: z.object({ n: z.number() }), reply: z.object({ n: z.number() }) });
const store = defineCommand({ name: 'store', to: 'calc', data: z.object({ value: z.number().int() }) });
const ping = defineEvent({ name: 'ping', data: z.object({ n: z.number() }) });

/**
 * What a careless or out-of-date sender holds: a name with no checks on its
 * side, so that what reaches the agent is whatever it was given.
 */
const unchecked = (name: string) => defineRequest({ name, to: 'calc', data: z.unknown(), reply: z.unknown() });
const uncheckedCommand = (name: string) => defineCommand({ name, to: 'calc', data: z.unknown() });

/** An agent with one handler of each kind, recording what it was given. */
class Calculator extends BaseAgent {
  readonly log: string[] = [];
  readonly commands: number[] = [];
  readonly events: { action: string; from: string; data: JsonValue }[] = [];
  /** Requests to `slow` wait for this to be resolved. */
  release: (() => void) | undefined;

  constructor(id: string, deps: AgentDeps) {
    super(id, 'calculator', deps);
    this.onRequest(add, ({ a, b }) => ({ sum: a + b, by: this.instanceId }));
    this.onRequest(explode, () => {
      throw new Error('the handler blew up');
    });
    this.onRequest(refuse, () => {
      throw new OrchestraError('ORC_REGISTRY_TASK_NOT_FOUND', 'no task has id 42');
    });
    this.onRequest(notJson, () => ({ n: Number.NaN }));
    this.onRequest(slowRequest, async ({ n }) => {
      await new Promise<void>((resolve) => (this.release = resolve));
      return { n };
    });
    this.onCommand(store, ({ value }) => void this.commands.push(value));
    this.onEvent(ping, (data, m) => void this.events.push({ action: 'ping', from: m.from, data }));
  }

  protected override async initialize(): Promise<void> {
    this.log.push(`initialize:${this.state}`);
  }
  protected override async run(): Promise<void> {
    this.log.push(`run:${this.state}`);
  }
  protected override async cleanup(): Promise<void> {
    this.log.push(`cleanup:${this.state}`);
  }
}

/** An agent that only sends. */
class Caller extends BaseAgent {
  readonly events: (Message & { data: z.output<typeof ping.data> })[] = [];
  constructor(id: string, deps: AgentDeps) {
    super(id, 'caller', deps);
    this.onEvent(ping, (data, m) => void this.events.push({ ...m, data }));
  }
}

/** The agent behaviour every bus backend must give identically. */
export function agentContract(name: string, makeHarness: MakeBusHarness): void {
  describe(`Agent contract: ${name}`, () => {
    let harness: BusHarness;
    let clock: ManualClock;
    let lines: LogLine[];
    const agents: BaseAgent[] = [];

    async function setup(options: BusOptions = {}): Promise<{ calc: Calculator; caller: Caller; bus: Bus; peer: Bus }> {
      clock = new ManualClock();
      const recording = recordingLogger();
      lines = recording.lines;
      harness = await makeHarness({ clock, logger: recording.logger, options });
      const peer = await harness.makePeer();
      const calc = new Calculator('calc', { bus: harness.bus, clock, logger: recording.logger });
      const caller = new Caller('caller', { bus: peer, clock, logger: recording.logger });
      agents.push(calc, caller);
      await calc.start();
      await caller.start();
      return { calc, caller, bus: harness.bus, peer };
    }

    afterEach(async () => {
      await Promise.all(agents.splice(0).map((a) => a.stop()));
      await harness.cleanup();
    });

    const remote = async (promise: Promise<unknown>): Promise<RemoteError> => {
      const err = await promise.then(
        () => {
          throw new Error('expected the request to be refused');
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RemoteError);
      return err as RemoteError;
    };

    it('starts through initialize then run, and stops through cleanup', async () => {
      const { calc } = await setup();
      expect(calc.log).toEqual(['initialize:starting', 'run:running']);
      expect(calc.state).toBe('running');
      await calc.stop();
      expect(calc.log.at(-1)).toBe('cleanup:stopping');
      expect(calc.state).toBe('stopped');
    });

    it('answers a request with the handler result, delivered only to the caller awaiting it', async () => {
      const { calc, caller } = await setup();
      const answers = await Promise.all([1, 2, 3].map((n) => caller.sendRequest(add, { a: n, b: 10 })));
      expect(answers).toEqual([11, 12, 13].map((sum) => ({ sum, by: calc.instanceId })));
    });

    it('parses the response with the contract’s reply schema', async () => {
      const { caller } = await setup();
      const answer = await caller.sendRequest(add, { a: 1, b: 2 });
      expect(answer.sum).toBe(3);
      const expectsTotal = defineRequest({ name: 'add', to: 'calc', data: add.data, reply: z.object({ total: z.number() }) });
      await expect(caller.sendRequest(expectsTotal, { a: 1, b: 2 })).rejects.toMatchObject({ code: 'ORC_PROTOCOL_MISSING_FIELD' });
    });

    it('answers an unknown action with ORC_AGENT_UNKNOWN_ACTION, listing what it handles', async () => {
      const { caller } = await setup();
      const err = await remote(caller.sendRequest(unchecked('divide'), { a: 1 }));
      expect(err.remoteCode).toBe('ORC_AGENT_UNKNOWN_ACTION');
      expect(err.message).toContain('"divide"');
      expect(err.message).toContain('add');
    });

    it('answers data that fails the schema with an error naming the field', async () => {
      const { caller } = await setup();
      const wrong = await remote(caller.sendRequest(unchecked('add'), { a: 'one', b: 2 }));
      expect(wrong.remoteCode).toBe('ORC_PROTOCOL_WRONG_TYPE');
      expect(wrong.message).toContain('data.a');
      const missing = await remote(caller.sendRequest(unchecked('add'), { a: 1 }));
      expect(missing.remoteCode).toBe('ORC_PROTOCOL_MISSING_FIELD');
      expect(missing.message).toContain('data.b');
      const extra = await remote(caller.sendRequest(unchecked('add'), { a: 1, b: 2, c: 3 }));
      expect(extra.remoteCode).toBe('ORC_PROTOCOL_UNKNOWN_FIELD');
    });

    it('answers a handler that throws with a stable code, logs it, and goes on answering', async () => {
      const { caller, calc } = await setup();
      const blown = await remote(caller.sendRequest(explode, {}));
      expect(blown.remoteCode).toBe('ORC_AGENT_HANDLER_FAILED');
      expect(blown.message).toContain('the handler blew up');
      expect((await remote(caller.sendRequest(refuse, {}))).remoteCode).toBe('ORC_REGISTRY_TASK_NOT_FOUND');
      expect((await remote(caller.sendRequest(notJson, {}))).remoteCode).toBe('ORC_AGENT_HANDLER_FAILED');
      expect(await caller.sendRequest(add, { a: 2, b: 2 })).toMatchObject({ sum: 4 });
      expect(lines.some((l) => l.msg === 'request handler failed' && l.action === 'explode')).toBe(true);
      expect(calc.status().details).toMatchObject({ failed: 3 });
    });

    it('rejects a request nobody answers with the typed timeout after the configured time, and drops a late response', async () => {
      const { caller, calc } = await setup();
      const unanswered = caller.sendRequest(add, { a: 1, b: 1 }, { to: 'nobody', timeoutMs: 5_000 });
      const slow = caller.sendRequest(slowRequest, { n: 1 }, { timeoutMs: 5_000 }).catch((e: unknown) => e);
      await eventually('the slow handler to start', () => calc.release);
      let settled = false;
      void unanswered.catch(() => (settled = true));
      await clock.advance(4_999);
      expect(settled).toBe(false);
      await clock.advance(1);
      await expect(unanswered).rejects.toBeInstanceOf(RequestTimeoutError);
      expect(await slow).toMatchObject({ code: 'ORC_BUS_REQUEST_TIMEOUT', timeoutMs: 5_000 });
      calc.release!();
      await eventually('the late response to be dropped', () =>
        lines.some((l) => l.msg === 'response arrived after its request timed out or was abandoned; dropped'),
      );
      expect(await caller.sendRequest(add, { a: 1, b: 1 })).toMatchObject({ sum: 2 });
    });

    it('runs commands, and dead-letters an unknown command or bad data with its reason', async () => {
      const { caller, calc } = await setup();
      await caller.sendCommand(store, { value: 7 });
      await caller.sendCommand(uncheckedCommand('launch'), {});
      await caller.sendCommand(uncheckedCommand('store'), { value: 1.5 });
      await caller.sendCommand(store, { value: 8 });
      await eventually('both good commands', () => calc.commands.length === 2);
      expect(calc.commands).toEqual([7, 8]);
      const letters = await eventually('two dead letters', async () => {
        const all = (await harness.deadLetters()).filter((l) => l.source === 'inbox:calc');
        return all.length === 2 && all;
      });
      expect(letters.map((l) => l.reason).join('\n')).toMatch(/ORC_AGENT_UNKNOWN_ACTION.*"launch"/);
      expect(letters.map((l) => l.reason).join('\n')).toMatch(/ORC_PROTOCOL_WRONG_TYPE.*data\.value/);
    });

    it('broadcasts an event to every listener but its sender, and sends one to a single agent', async () => {
      const { caller, calc, bus } = await setup();
      const other = new Caller('other', { bus, clock });
      agents.push(other);
      await other.start();
      await caller.sendEvent(ping, { n: 1 });
      await eventually('calc and other to hear it', () => calc.events.length === 1 && other.events.length === 1);
      expect(calc.events[0]).toEqual({ action: 'ping', from: 'caller', data: { n: 1 } });
      await caller.sendEvent(ping, { n: 2 }, { to: 'other' });
      await eventually('other to hear the direct one', () => other.events.length === 2);
      // A later broadcast from calc reaches caller: it proves caller is listening, so it never heard its own.
      await calc.sendEvent(ping, { n: 3 });
      await eventually('caller to hear calc', () => caller.events.length === 1);
      expect(caller.events.map((m) => m.from)).toEqual(['calc']);
      expect(calc.events).toHaveLength(1);
      expect(other.events.map((m) => m.data.n)).toEqual([1, 2, 3]);
    });

    it('shares requests between replicas of one agent id: each is handled once', async () => {
      const { caller, calc } = await setup();
      const replica = new Calculator('calc', { bus: await harness.makePeer(), clock });
      agents.push(replica);
      await replica.start();
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => caller.sendRequest(add, { a: i, b: 0 })));
      expect(answers.map((a) => a.sum)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      const byReplica = (id: string) => answers.filter((a) => a.by === id).length;
      expect(byReplica(calc.instanceId) + byReplica(replica.instanceId)).toBe(200);
      expect(calc.status().details.handled as number).toBe(byReplica(calc.instanceId));
      expect(replica.status().details.handled as number).toBe(byReplica(replica.instanceId));
    });

    it('answers get_status with its state and counts', async () => {
      const { caller, calc } = await setup();
      await caller.sendRequest(add, { a: 1, b: 1 });
      const status = await caller.sendRequest(getStatusRequest, {}, { to: 'calc' });
      expect(status).toMatchObject({ agentId: 'calc', instanceId: calc.instanceId, role: 'calculator', state: 'running', details: { handled: 1 } });
    });

    it('lets a handler in flight finish when stopped, then stops taking requests', async () => {
      const { caller, calc } = await setup();
      const slow = caller.sendRequest(slowRequest, { n: 5 });
      await eventually('the slow handler to start', () => calc.release);
      const stopping = calc.stop();
      calc.release!();
      await stopping;
      expect(await slow).toEqual({ n: 5 });
      const after = caller.sendRequest(add, { a: 1, b: 1 }, { timeoutMs: 1_000 }).catch((e: unknown) => e);
      await clock.advance(1_000);
      expect(await after).toBeInstanceOf(RequestTimeoutError);
    });

    it('survives 1,000 malformed messages, answering or dead-lettering each with its reason, and keeps answering good requests', async () => {
      const maxMessageBytes = 16 * 1024;
      const { caller } = await setup({ maxMessageBytes });
      const rng = createRng(7);
      const good = (n: number) => createMessage({ type: 'request', from: 'mallory', to: 'calc', action: 'add', data: { a: n, b: 1 } }, clock.now());
      const drop = (m: Record<string, unknown>, field: string) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== field));
      const raw: (() => string)[] = [
        // Not JSON at all, or cut short.
        () => JSON.stringify(good(1)).slice(0, 1 + Math.floor(rng.next() * 40)),
        () => ['', '{', 'null', '[]', '"request"', '{"type":"request",}', 'NaN'][Math.floor(rng.next() * 7)]!,
        // A required field missing.
        () => JSON.stringify(drop(good(2), ['id', 'type', 'from', 'action', 'data', 'timestamp'][Math.floor(rng.next() * 6)]!)),
        // A field of the wrong type.
        () => JSON.stringify({ ...good(3), [['timestamp', 'from', 'to', 'type', 'action'][Math.floor(rng.next() * 5)]!]: [true] }),
        // Larger than the bus carries.
        () => JSON.stringify({ ...good(4), data: { blob: 'x'.repeat(maxMessageBytes) } }),
      ];
      let deadLettered = 0;
      const refusals: Promise<unknown>[] = [];
      const answers: Promise<unknown>[] = [];
      for (let i = 0; i < 1_000; i++) {
        const kind = i % 10;
        if (kind < 6) {
          await harness.inject({ inbox: 'calc' }, raw[Math.floor(rng.next() * raw.length)]!());
          deadLettered++;
        } else if (kind < 8) {
          refusals.push(caller.sendRequest(unchecked(`no_such_action_${i}`), {}).catch((e: unknown) => e));
        } else {
          refusals.push(caller.sendRequest(unchecked('add'), { a: 'not a number', b: i }).catch((e: unknown) => e));
        }
        if (i % 10 === 9) answers.push(caller.sendRequest(add, { a: i, b: 1 }));
      }
      expect(await Promise.all(answers)).toEqual(Array.from({ length: 100 }, (_, k) => expect.objectContaining({ sum: k * 10 + 10 })));
      const refused = (await Promise.all(refusals)) as RemoteError[];
      expect(refused).toHaveLength(400);
      for (const err of refused) expect(err).toBeInstanceOf(RemoteError);
      expect(new Set(refused.map((e) => e.remoteCode))).toEqual(new Set(['ORC_AGENT_UNKNOWN_ACTION', 'ORC_PROTOCOL_WRONG_TYPE']));
      const letters = await eventually('every raw message dead-lettered', async () => {
        const all = (await harness.deadLetters()).filter((l) => l.source === 'inbox:calc');
        return all.length >= deadLettered && all;
      });
      expect(letters).toHaveLength(deadLettered);
      for (const letter of letters) {
        expect(letter.code).toMatch(/^ORC_PROTOCOL_/);
        expect(letter.reason.length).toBeGreaterThan(0);
      }
      expect(await caller.sendRequest(add, { a: 40, b: 2 })).toMatchObject({ sum: 42 });
    });
  });
}
