import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineEvent, defineRequest, ManualClock, OrchestraError, type Message } from '../../src/protocol/index.js';
import { createMemoryBus, MemoryBroker, RemoteError, type Bus } from '../../src/bus/index.js';
import { BaseAgent, type AgentDeps } from '../../src/agents/index.js';
import { eventually } from '../bus/support.js';

const convert = defineRequest({
  name: 'convert',
  to: 'converter',
  data: z.object({ celsius: z.number() }).strict(),
  reply: z.object({ fahrenheit: z.number() }).strict(),
});
const broken = defineRequest({ name: 'broken', to: 'converter', data: z.object({}), reply: z.object({ n: z.number() }) });
const unaddressed = defineRequest({ name: 'convert', data: convert.data, reply: convert.reply });
const reset = defineCommand({ name: 'reset', to: 'converter', data: z.object({ to: z.number().int() }).strict() });
const converted = defineEvent({ name: 'converted', topic: 'temperatures', data: z.object({ celsius: z.number(), fahrenheit: z.number() }) });

class Converter extends BaseAgent {
  count = 0;
  constructor(deps: AgentDeps) {
    super('converter', 'converter', deps);
    this.onRequest(convert, async ({ celsius }) => {
      this.count++;
      const fahrenheit = celsius * 1.8 + 32;
      await this.sendEvent(converted, { celsius, fahrenheit });
      return { fahrenheit };
    });
    // Breaks its own reply schema: the caller must hear so, with the field.
    this.onRequest(broken, () => ({ n: 'one' }) as unknown as { n: number });
    this.onCommand(reset, ({ to }) => void (this.count = to));
  }
}

class Listener extends BaseAgent {
  readonly heard: { data: z.output<typeof converted.data>; message: Message }[] = [];
  constructor(deps: AgentDeps) {
    super('listener', 'listener', deps);
    this.onEvent(converted, (data, message) => void this.heard.push({ data, message }));
  }
}

describe('contracts: one declaration for both ends of a message', () => {
  const agents: BaseAgent[] = [];
  const buses: Bus[] = [];

  async function setup() {
    const clock = new ManualClock();
    const broker = new MemoryBroker();
    const bus = () => {
      const b = createMemoryBus({ clock, broker });
      buses.push(b);
      return b;
    };
    const converter = new Converter({ bus: bus(), clock, presence: false });
    const listener = new Listener({ bus: bus(), clock, presence: false });
    for (const a of [converter, listener]) {
      agents.push(a);
      await a.start();
    }
    return { converter, listener };
  }

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('sends a typed request to the contract’s agent and parses the reply with its schema', async () => {
    const { listener } = await setup();
    const reply = await listener.sendRequest(convert, { celsius: 100 });
    expect(reply).toEqual({ fahrenheit: 212 });
  });

  it('broadcasts a typed event on the contract’s topic', async () => {
    const { listener } = await setup();
    await listener.sendRequest(convert, { celsius: 0 });
    await eventually('the event', () => listener.heard.length > 0);
    expect(listener.heard.map((h) => h.data)).toEqual([{ celsius: 0, fahrenheit: 32 }]);
    expect(listener.heard[0]!.message.action).toBe('converted');
  });

  it('refuses data that breaks the contract at the sender, naming the field', async () => {
    const { listener, converter } = await setup();
    const bad = { celsius: 'hot' } as unknown as { celsius: number };
    await expect(listener.sendRequest(convert, bad)).rejects.toThrow(/celsius/);
    expect(converter.count).toBe(0);
  });

  it('answers a reply that breaks the contract with ORC_AGENT_HANDLER_FAILED naming the field', async () => {
    const { listener } = await setup();
    const err = await listener.sendRequest(broken, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).remoteCode).toBe('ORC_AGENT_HANDLER_FAILED');
    expect((err as Error).message).toMatch(/reply to broken: n:/);
  });

  it('sends a typed command, and takes the receiver from the options when the contract names none', async () => {
    const { listener, converter } = await setup();
    await listener.sendCommand(reset, { to: 40 });
    await eventually('the command', () => converter.count === 40);
    expect(await listener.sendRequest(unaddressed, { celsius: 10 }, { to: 'converter' })).toEqual({ fahrenheit: 50 });
    await expect(listener.sendRequest(unaddressed, { celsius: 10 })).rejects.toThrow(/names no receiver/);
  });

  it('does not compile a message named by a string instead of a contract, and refuses one sent from plain JavaScript', async () => {
    const { listener, converter } = await setup();
    // @ts-expect-error a request needs its contract: an action named by a string has no declaration
    const request = listener.sendRequest('converter', 'convert', { celsius: 100 });
    await expect(request).rejects.toMatchObject({ code: 'ORC_CONFIG_INVALID' });
    // @ts-expect-error so does a command
    await expect(listener.sendCommand('converter', 'reset', { to: 1 })).rejects.toMatchObject({ code: 'ORC_CONFIG_INVALID' });
    // @ts-expect-error and an event
    await expect(listener.sendEvent('converted', { celsius: 0, fahrenheit: 32 })).rejects.toMatchObject({ code: 'ORC_CONFIG_INVALID' });
    expect(converter.count).toBe(0);
  });

  it('does not compile a handler for an undeclared name', () => {
    class Undeclared extends BaseAgent {
      constructor(deps: AgentDeps) {
        super('undeclared', 'test', deps);
        // @ts-expect-error a handler needs its contract too
        this.onRequest('convert', z.object({ celsius: z.number() }), () => ({ fahrenheit: 0 }));
      }
    }
    expect(() => new Undeclared({ bus: createMemoryBus({ clock: new ManualClock() }), clock: new ManualClock(), presence: false })).toThrow(OrchestraError);
  });

  it('refuses a contract whose name no message could carry', () => {
    expect(() => defineRequest({ name: 'has space', data: z.object({}), reply: z.object({}) })).toThrow(OrchestraError);
  });
});
