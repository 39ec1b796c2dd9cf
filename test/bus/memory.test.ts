import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../src/protocol/index.js';
import { createBus, createMemoryBus, MemoryBroker, MemoryBus, MemoryDeadLetters, type Bus } from '../../src/bus/index.js';
import { busContract } from '../contract/bus.contract.js';
import { memoryHarness } from './harness.js';
import { eventually, message, recordingLogger } from './support.js';
import { runModuleScript } from '../support/module-script.js';

busContract('memory', memoryHarness);

describe('MemoryBus', () => {
  const clock = new ManualClock();
  const command = (to: string, data = {}) => message(clock, { type: 'command', action: 'do_work', to, data });

  it('hands the messages of one inbox to its replicas in turn', async () => {
    const broker = new MemoryBroker();
    const [a, b] = [createMemoryBus({ clock, broker }), createMemoryBus({ clock, broker })];
    const counts = [0, 0];
    await a.subscribe({ inbox: 'w' }, () => void counts[0]!++);
    await b.subscribe({ inbox: 'w' }, () => void counts[1]!++);
    for (let i = 0; i < 100; i++) await a.send(command('w'));
    await eventually('all messages', () => counts[0]! + counts[1]! === 100);
    expect(counts).toEqual([50, 50]);
  });

  it('runs at most maxInFlight handlers of a subscription at once, keeping the rest queued', async () => {
    const bus = createMemoryBus({ clock, maxInFlight: 3 });
    const releases: (() => void)[] = [];
    let started = 0;
    await bus.subscribe({ inbox: 'slow' }, () => {
      started++;
      return new Promise<void>((resolve) => releases.push(resolve));
    });
    for (let i = 0; i < 10; i++) await bus.send(command('slow'));
    await eventually('three handlers running', () => started === 3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toBe(3);
    releases.shift()!();
    await eventually('a fourth handler once one finished', () => started === 4);
    while (releases.length) releases.shift()!();
    await eventually('every handler', () => {
      while (releases.length) releases.shift()!();
      return started === 10;
    });
  });

  it('drops the oldest event for a topic subscriber more than topicMaxLen behind, with a warning', async () => {
    const { logger, warnings } = recordingLogger();
    const bus = createMemoryBus({ clock, logger, topicMaxLen: 2, maxInFlight: 1 });
    let release!: () => void;
    const seen: number[] = [];
    await bus.subscribe({ topic: 't' }, async (m) => {
      const { i } = m.data as { i: number };
      seen.push(i);
      if (i === 0) await new Promise<void>((resolve) => (release = resolve));
    });
    await bus.publish('t', message(clock, { type: 'event', action: 'e', to: null, data: { i: 0 } }));
    await eventually('the first event', () => seen.length === 1);
    for (let i = 1; i <= 4; i++) await bus.publish('t', message(clock, { type: 'event', action: 'e', to: null, data: { i } }));
    release();
    await eventually('the kept events', () => seen.length === 3);
    expect(seen).toEqual([0, 3, 4]);
    expect(warnings().filter((l) => /oldest event dropped/.test(l.msg))).toHaveLength(2);
  });

  it('drops a response whose requester has closed, with a warning', async () => {
    const { logger, warnings } = recordingLogger();
    const broker = new MemoryBroker();
    const requester = createMemoryBus({ clock, broker });
    const responder = createMemoryBus({ clock, broker, logger });
    let seen: Parameters<Parameters<Bus['subscribe']>[1]>[0] | undefined;
    await responder.subscribe({ inbox: 'svc' }, (m) => void (seen = m));
    void requester.request(message(clock, { type: 'request', action: 'a', to: 'svc' })).catch(() => undefined);
    await eventually('the request', () => seen);
    await requester.close();
    const { createResponse } = await import('../../src/protocol/index.js');
    await responder.send(createResponse(seen!, 'svc', { data: {} }, clock.now()));
    expect(warnings().some((l) => /requester that is gone/.test(l.msg))).toBe(true);
  });

  it('hands a handler the message as it was sent, even if the sender changes its object afterwards', async () => {
    const bus = createMemoryBus({ clock });
    const received: Parameters<Parameters<Bus['subscribe']>[1]>[0][] = [];
    await bus.subscribe({ inbox: 'snapshot' }, (m) => void received.push(m));
    const sent = command('snapshot', { list: [1, 2], nested: { n: 1 } });
    await bus.send(sent);
    (sent.data as { list: number[] }).list.push(3);
    (sent.data as { nested: { n: number } }).nested.n = 2;
    await eventually('the message', () => received.length === 1);
    expect(received[0]!.data).toEqual({ list: [1, 2], nested: { n: 1 } });
    expect(received[0]!.data).not.toBe(sent.data);
  });

  it('refuses a message larger than its own maxMessageBytes, even when the sending bus allowed it', async () => {
    const broker = new MemoryBroker();
    const deadLetters = new MemoryDeadLetters();
    const sender = createMemoryBus({ clock, broker, maxMessageBytes: 10_000 });
    const receiver = createMemoryBus({ clock, broker, deadLetters, maxMessageBytes: 1_000 });
    const received: unknown[] = [];
    await receiver.subscribe({ inbox: 'small' }, (m) => void received.push(m));
    await sender.send(command('small', { blob: 'x'.repeat(5_000) }));
    const small = command('small', { ok: true });
    await sender.send(small);
    await eventually('the small message', () => received.length === 1);
    expect(received).toMatchObject([{ id: small.id }]);
    expect(deadLetters.list()).toMatchObject([{ source: 'inbox:small', code: 'ORC_PROTOCOL_TOO_LARGE' }]);
  });

  it('keeps only the newest dead letters past its bound', async () => {
    const sink = new MemoryDeadLetters(3);
    for (let i = 0; i < 5; i++) await sink.record({ source: 's', code: 'c', reason: String(i), raw: 'x', receivedAt: i });
    expect(sink.list().map((l) => l.reason)).toEqual(['2', '3', '4']);
    expect(sink.list(1).map((l) => l.reason)).toEqual(['4']);
  });

  it('is what createBus gives without a Redis URL', async () => {
    const bus = await createBus({ clock });
    expect(bus).toBeInstanceOf(MemoryBus);
    await bus.close();
  });

  it('leaves the Redis client unloaded in a process that loads the CLI and runs on it', async () => {
    // Another process: this one loaded the Redis bus for other tests' sake. The client is a CommonJS package, so it shows in require's cache once loaded.
    const script = `
      import { createRequire } from 'node:module';
      await import('./src/cli/program.js');
      const { createBus } = await import('./src/bus/index.js');
      const { ManualClock } = await import('./src/protocol/index.js');
      const bus = await createBus({ clock: new ManualClock() });
      await bus.close();
      const loaded = (name) => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('/node_modules/' + name + '/'));
      console.log(JSON.stringify({ ioredis: loaded('ioredis'), commander: loaded('commander') }));`;
    const { code, stdout } = await runModuleScript(script);
    expect(code).toBe(0);
    // commander, a CommonJS package the CLI imports, shows that the cache does show what was loaded.
    expect(JSON.parse(stdout)).toEqual({ ioredis: false, commander: true });
  });
});
