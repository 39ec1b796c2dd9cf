import { describe, expect, it } from 'vitest';
import { createOrchestra, IN_MEMORY, ManualClock, TaskWorker } from '../../src/index.js';
import { MemoryBus } from '../../src/bus/index.js';
import { StoreDeadLetters } from '../../src/store/index.js';
import { eventually } from '../bus/support.js';

describe('createOrchestra', () => {
  it('opens a migrated store, a bus whose dead letters land in it, and a registry that wakes workers', async () => {
    const clock = new ManualClock();
    const orchestra = await createOrchestra({ store: { dataDir: IN_MEMORY }, clock, registry: { maxAttempts: 7 } });
    try {
      expect(orchestra.migrations.version).toBeGreaterThan(0);
      expect(orchestra.clock).toBe(clock);
      expect(orchestra.registry.config.maxAttempts).toBe(7);

      expect(orchestra.bus).toBeInstanceOf(MemoryBus);
      const listening = await orchestra.bus.subscribe({ inbox: 'listener' }, () => undefined);
      await (orchestra.bus as MemoryBus).receiveRaw({ inbox: 'listener' }, '{"not": "a message"}');
      const letters = await eventually('the dead letter', async () => {
        const list = await new StoreDeadLetters(orchestra.store).list();
        return list.length > 0 && list;
      });
      expect(letters[0]!.raw).toBe('{"not": "a message"}');
      await listening.unsubscribe();

      // With polling off, only the registry's wake-up on the bus can start the task.
      const worker = new TaskWorker({ ...orchestra, handlers: { echo: async (task) => task.payload }, config: { pollIntervalMs: 3_600_000, sweepIntervalMs: 0 } });
      const done = new Promise((resolve) => worker.once('task_completed', (_task, { result }) => resolve(result)));
      await worker.start();
      await orchestra.registry.register({ kind: 'echo', payload: { n: 1 } });
      expect(await done).toEqual({ n: 1 });
      await worker.stop();
    } finally {
      await orchestra.close();
      await orchestra.close();
    }
  });

  it('opens no bus when asked for none', async () => {
    const orchestra = await createOrchestra({ store: { dataDir: IN_MEMORY }, bus: false });
    try {
      expect(orchestra.bus).toBeUndefined();
      expect((await orchestra.registry.register({ kind: 'later' })).created).toBe(true);
    } finally {
      await orchestra.close();
    }
  });
});
