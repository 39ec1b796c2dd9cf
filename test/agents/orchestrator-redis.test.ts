import { describe, it, expect, afterAll } from 'vitest';
import { Redis } from 'ioredis';
import { createRng, ManualClock } from '../../src/protocol/index.js';
import { listAgents } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createRedisBus } from '../../src/bus/index.js';
import { BaseAgent, OrchestratorAgent, type AgentDeps } from '../../src/agents/index.js';
import { REDIS_URL, uniqueName } from '../support/env.js';
import { deletePrefix } from '../bus/harness.js';
import { embeddedStore } from './helpers.js';

class Managed extends BaseAgent {
  constructor(id: string, deps: AgentDeps) {
    super(id, 'test', deps);
  }
}

describe('the orchestrator on Redis', () => {
  const store = embeddedStore();
  const prefix = uniqueName('orch');
  const client = new Redis(REDIS_URL);

  afterAll(async () => {
    await deletePrefix(client, prefix);
    client.disconnect();
  });

  it('records the agents it manages as stopped after a clean stop, whatever the bus has delivered', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const db = await store.reset(clock.now());
    for (let round = 0; round < 5; round++) {
      const bus = await createRedisBus({ url: REDIS_URL, prefix, clock });
      const registry = new TaskRegistry({ db, clock, rng: createRng(1), bus });
      const orchestrator = new OrchestratorAgent({ bus, clock, db, registry });
      orchestrator.manage(new Managed('bots', { bus, clock }), new Managed('analysis', { bus, clock }));
      await orchestrator.start();
      await orchestrator.stop();
      await bus.close();
      const states = Object.fromEntries((await listAgents(db)).filter((a) => a.role === 'test').map((a) => [`${a.agentId}/${a.instanceId}`, a.state]));
      expect(Object.values(states).length).toBe(2 * (round + 1));
      expect(new Set(Object.values(states))).toEqual(new Set(['stopped']));
    }
  });
});
