import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { createRng, getStatusRequest, ManualClock, newGenerationCreatedEvent, stopTestCommand, triggerTestRequest, VARIABLE_AGENT_ID } from '../../src/protocol/index.js';
import { getStudy, listGenerations, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createMemoryBus, type MemoryBus } from '../../src/bus/index.js';
import { AnalysisAgent, BaseAgent, Bot, BotAgent, VariableAgent, type ExperimentOptions } from '../../src/agents/index.js';
import { nextGenerationAt } from '../../src/evolution/index.js';
import { parseSpace } from '../../src/evolution/index.js';
import { syntheticEvaluator, testHandler } from '../../src/workloads/index.js';
import { embeddedStore, EventRecorder, until } from './helpers.js';

const space = parseSpace({
  name: 'synthetic',
  objective: { metric: 'value', direction: 'minimize' },
  variables: { x: { type: 'float', min: -5, max: 5 }, y: { type: 'float', min: -5, max: 5 } },
});

/**
 * Generations on a cron cadence, on the injected clock: the test moves time
 * forward in small steps while it waits, so a cadence of seconds (or of a
 * year) takes no real time to pass.
 */
describe('a study on a cron cadence', () => {
  const store = embeddedStore();
  let clock: ManualClock;
  let db: Db;

  /** Moves the clock 50 ms at a time, letting the agents' I/O run between steps, until `check` holds. */
  async function advanceUntil<T>(what: string, check: () => Promise<T | false | undefined> | T | false | undefined): Promise<T> {
    return until(what, async () => {
      const value = await check();
      if (value) return value;
      await clock.advance(50);
      return undefined;
    });
  }
  let bus: MemoryBus;
  let registry: TaskRegistry;
  let listener: EventRecorder;
  const agents: BaseAgent[] = [];

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    db = await store.reset(clock.now());
    bus = createMemoryBus({ clock });
    registry = new TaskRegistry({ db, clock, rng: createRng(1), bus, config: { backoffBaseMs: 10, backoffMaxMs: 10 } });
    listener = new EventRecorder({ bus, clock }, [newGenerationCreatedEvent], 'listener');
    await listener.start();
    agents.push(listener);
  });
  afterEach(async () => {
    for (const a of agents.splice(0).reverse()) await a.stop();
    await bus.close();
  });

  async function study(experiment: ExperimentOptions): Promise<VariableAgent> {
    const deps = { bus, clock };
    const fleet = { checkIntervalMs: 50, heartbeatIntervalMs: 1_000 };
    const evaluators = { synthetic: syntheticEvaluator(space, { seed: 3 }) };
    const variables = new VariableAgent({ ...deps, db, registry, studyId: 'study', workload: 'synthetic', space, experiment: { pollMs: 50, population: 4, testsPerCombination: 1, retests: 0, ...experiment } });
    for (const a of [
      new BotAgent({ ...deps, db, registry, fleet }),
      new AnalysisAgent({ ...deps, db }),
      new Bot({ ...deps, registry, botId: 'b1', handler: testHandler(evaluators), fleet }),
      new Bot({ ...deps, registry, botId: 'b2', handler: testHandler(evaluators), fleet }),
      variables,
    ]) {
      agents.push(a);
      await a.start();
    }
    return variables;
  }

  it('starts each generation at the first time of the expression after the one before was scored', async () => {
    const cadence = '*/2 * * * * *'; // every two seconds
    const variables = await study({ cadence, maxGenerations: 3 });
    let finished = false;
    void variables.finished().then(() => (finished = true));
    await advanceUntil('three generations', () => finished);
    const generations = await listGenerations(db, 'study');
    expect(generations.map((g) => g.state)).toEqual(['scored', 'scored', 'scored']);
    for (const [before, g] of generations.slice(0, -1).map((b, i) => [b, generations[i + 1]!] as const)) {
      const due = nextGenerationAt(cadence, before.scoredAt!);
      expect(due % 2_000).toBe(0);
      expect(g.createdAt).toBeGreaterThanOrEqual(due);
    }
  });

  it('waits for the next time, says so, and starts at once on trigger_test; stop_test ends the wait', async () => {
    const variables = await study({ cadence: '0 0 1 1 *' }); // once a year
    const waiting = await advanceUntil('the first generation to be scored and the next one due', async () => {
      const status = await listener.sendRequest(getStatusRequest, {}, { to: VARIABLE_AGENT_ID });
      return status.details.state === 'waiting' ? status.details : undefined;
    });
    expect(waiting.nextGenerationAt).toBe(nextGenerationAt('0 0 1 1 *', (await listGenerations(db, 'study'))[0]!.scoredAt!));
    expect(await listGenerations(db, 'study')).toHaveLength(1);

    await listener.sendRequest(triggerTestRequest, {});
    await advanceUntil('generation 1 to start', async () => (await listGenerations(db, 'study')).length === 2);
    await advanceUntil('generation 1 to be scored and the wait to begin again', async () => {
      const status = await listener.sendRequest(getStatusRequest, {}, { to: VARIABLE_AGENT_ID });
      return status.details.state === 'waiting';
    });

    await listener.sendCommand(stopTestCommand, {});
    await advanceUntil('the study to stop', async () => (await getStudy(db, 'study'))?.state === 'stopped');
    let finished = false;
    void variables.finished().then(() => (finished = true));
    await advanceUntil('the study loop to end', () => finished);
    expect(await listGenerations(db, 'study')).toHaveLength(2);
  });
});
