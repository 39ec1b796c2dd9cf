import os from 'node:os';
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import {
  campaignFinishedEvent,
  createLogger,
  createRng,
  environmentChangeDetectedEvent,
  getBestCombinationRequest,
  getCampaignStatusRequest,
  getGenerationStatsRequest,
  newGenerationCreatedEvent,
  NonRetryableError,
  startCampaignRequest,
  stopTestCommand,
  studyFinishedEvent,
  systemClock,
  triggerTestRequest,
} from '../../src/protocol/index.js';
import { getStudy, listGenerations, listResults, listReports, setExploreFrom, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { createMemoryBus, type MemoryBus } from '../../src/bus/index.js';
import {
  AnalysisAgent,
  BaseAgent,
  Bot,
  BotAgent,
  CampaignAgent,
  VariableAgent,
  type ExperimentOptions,
} from '../../src/agents/index.js';
import { EXPLORE_GENERATIONS_AFTER_CHANGE, parseSpace, planGeneration } from '../../src/evolution/index.js';
import { syntheticEvaluator, syntheticLandscape, testHandler } from '../../src/workloads/index.js';
import { embeddedStore, EventRecorder, until } from './helpers.js';

const space = parseSpace({
  name: 'synthetic',
  objective: { metric: 'value', direction: 'minimize' },
  variables: {
    x: { type: 'float', min: -5, max: 5 },
    n: { type: 'int', min: 1, max: 1000, log: true },
    mode: { type: 'categorical', choices: ['a', 'b', 'c'] },
    on: { type: 'bool' },
  },
});

/**
 * The experiment agents end to end on the embedded default, on the real
 * clock with short intervals: a study of a seeded synthetic landscape, four
 * bots, the analysis agent, a campaign.
 */
describe('experiment agents on PGlite with the memory bus', () => {
  let db: Db;
  let bus: MemoryBus;
  let registry: TaskRegistry;
  let listener: EventRecorder;
  const agents: BaseAgent[] = [];
  const clock = systemClock;

  const store = embeddedStore();
  beforeEach(async () => {
    db = await store.reset(clock.now());
    bus = createMemoryBus({ clock });
    registry = new TaskRegistry({ db, clock, rng: createRng(1), bus, config: { backoffBaseMs: 10, backoffMaxMs: 10 } });
    listener = new EventRecorder({ bus, clock }, [newGenerationCreatedEvent, environmentChangeDetectedEvent, studyFinishedEvent, campaignFinishedEvent], 'listener');
    await listener.start();
    agents.push(listener);
  });
  afterEach(async () => {
    for (const a of agents.splice(0).reverse()) await a.stop();
    await bus.close();
  });

  async function system(options: {
    experiment: ExperimentOptions;
    driftAtTrial?: number;
    bots?: number;
    landscape?: number;
    noise?: number;
    failureRate?: number;
    /** Tests whose task fails outright (the handler throws), by trial. */
    crashes?: (trial: number) => boolean;
  }) {
    const { noise, failureRate, crashes } = options;
    const evaluators = {
      synthetic: syntheticEvaluator(space, { seed: options.landscape ?? 7, ...(options.driftAtTrial ? { driftAtTrial: options.driftAtTrial } : {}), ...(noise ? { noise } : {}), ...(failureRate ? { failureRate } : {}) }),
    };
    const deps = { bus, clock, ...(process.env.DEBUG_EXPERIMENT ? { logger: createLogger({ level: (process.env.DEBUG_EXPERIMENT as 'info') ?? 'info' }) } : {}) };
    const fleet = { checkIntervalMs: 50, heartbeatIntervalMs: 1_000 };
    const parts: BaseAgent[] = [
      new BotAgent({ ...deps, db, registry, fleet }),
      new AnalysisAgent({ ...deps, db }),
      ...Array.from({ length: options.bots ?? 4 }, (_, i) => {
        const run = testHandler(evaluators);
        const handler: typeof run = (task, context) =>
          crashes?.((task.payload as { trial: number }).trial) ? Promise.reject(new NonRetryableError('the evaluator crashed', 'E_CRASH')) : run(task, context);
        return new Bot({ ...deps, registry, botId: `b${i + 1}`, handler, fleet });
      }),
    ];
    const variables = new VariableAgent({ ...deps, db, registry, studyId: 'study', workload: 'synthetic', space, experiment: { pollMs: 50, ...options.experiment } });
    const campaigns = new CampaignAgent({ ...deps, db, registry, workload: 'synthetic', pollMs: 50 });
    for (const a of [...parts, variables, campaigns]) {
      agents.push(a);
      await a.start();
    }
    return { variables, campaigns };
  }

  it('evolves generations to the end of the study: every planned test has exactly one result, and the search improves', async () => {
    const { variables } = await system({ experiment: { population: 10, testsPerCombination: 2, retests: 1, maxGenerations: 4, seed: 3 } });
    await variables.finished();
    const generations = await listGenerations(db, 'study');
    expect(generations.map((g) => [g.generation, g.state])).toEqual([[0, 'scored'], [1, 'scored'], [2, 'scored'], [3, 'scored']]);
    const results = await listResults(db, 'study');
    const planned = generations.flatMap((g) => g.tests);
    expect(results.map((r) => r.taskId).sort()).toEqual(planned.map((t) => t.taskId).sort());
    // Trial numbers are handed out once each, in order, with no gap.
    expect(results.map((r) => r.trial)).toEqual(planned.map((_, i) => i));
    expect(listener.of(newGenerationCreatedEvent)).toHaveLength(4);
    expect(listener.of(studyFinishedEvent)).toHaveLength(1);

    const landscape = syntheticLandscape(space, 7);
    const valueOf = (g: number) => Math.min(...results.filter((r) => r.generation === g && r.success).map((r) => r.value!));
    expect(valueOf(3)).toBeLessThanOrEqual(valueOf(0));
    const best = (await listener.sendRequest(getBestCombinationRequest, {}))!;
    expect(best.successRate).toBeGreaterThanOrEqual(0.9);
    expect(landscape.value(best.variables, 0)).toBeLessThan(landscape.value(results[0] ? (await variables.observations())[0]!.combination : {}, 0) + 1e-9);

    const stats = await listener.sendRequest(getGenerationStatsRequest, { generation: 2 });
    expect(stats).toMatchObject({ state: 'scored' });
    expect(stats.testsDone).toBe(stats.tests);
    const reports = await listReports(db, 'study');
    expect(reports.map((r) => r.generation)).toEqual([0, 1, 2, 3]);
    expect(reports.at(-1)!.report).toMatchObject({ model: expect.stringContaining('least-squares'), changed: false });
    expect((reports.at(-1)!.report as { predictionError: number | null }).predictionError).not.toBeNull();
  });

  it('keeps the explore-after-change countdown in the study: a variable agent restarted after a change explores as long as one that ran on', async () => {
    const experiment = { population: 6, testsPerCombination: 1, retests: 1, seed: 3 };
    const { variables } = await system({ experiment: { ...experiment, maxGenerations: 1 } });
    await variables.finished();
    // The state an environment change leaves: the landscape starts again here, and two generations explore harder.
    const { trials } = (await getStudy(db, 'study'))!;
    await setExploreFrom(db, 'study', trials, clock.now(), EXPLORE_GENERATIONS_AFTER_CHANGE);
    await variables.stop();
    for (const [generations, left] of [
      [2, EXPLORE_GENERATIONS_AFTER_CHANGE - 1],
      [3, EXPLORE_GENERATIONS_AFTER_CHANGE - 2],
      [4, 0],
    ] as const) {
      // Each run is a new agent, as after a restart: it reads the countdown, plans one generation, and counts it down.
      const again = new VariableAgent({ bus, clock, db, registry, studyId: 'study', workload: 'synthetic', space, experiment: { pollMs: 50, ...experiment, maxGenerations: generations } });
      agents.push(again);
      await again.start();
      await again.finished();
      await again.stop();
      expect((await getStudy(db, 'study'))!).toMatchObject({ generation: generations - 1, exploreLeft: Math.max(0, left), exploreFrom: trials });
    }
  });

  it('announces each new generation with the size of the elite it was evolved from', async () => {
    const { variables } = await system({ experiment: { population: 10, testsPerCombination: 1, retests: 1, maxGenerations: 3, seed: 3 } });
    await variables.finished();
    const announced = listener.of(newGenerationCreatedEvent).map((m) => m.data);
    expect(announced.map((d) => d.generation)).toEqual([0, 1, 2]);
    // Generation 0 has nothing to evolve from; each later one comes from the elite of those scored before it (10 %, at least one).
    expect(announced[0]!.elite_count).toBe(0);
    for (const d of announced.slice(1)) expect(d.elite_count).toBeGreaterThanOrEqual(1);
    const generations = await listGenerations(db, 'study');
    expect(announced[1]!.elite_count).toBe((generations[0]!.stats as { elite: string[] }).elite.length);
  });

  it('gives the same generations for the same seed', async () => {
    const run = async () => {
      const { variables } = await system({ experiment: { population: 6, testsPerCombination: 1, maxGenerations: 3, seed: 11 } });
      await variables.finished();
      const plans = (await listGenerations(db, 'study')).map((g) => g.tests.map((t) => t.key));
      for (const a of agents.splice(1).reverse()) await a.stop();
      db = await store.reset(clock.now());
      return plans;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
  });

  it('plans the end of a noisy, failing study with the race reserve, and spends its budget exactly', async () => {
    const budget = 30;
    const { variables } = await system({ experiment: { population: 6, testsPerCombination: 1, retests: 1, budget, seed: 4, drift: { enabled: false } }, noise: 0.3, failureRate: 0.15 });
    await variables.finished();
    expect((await getStudy(db, 'study'))!).toMatchObject({ state: 'finished', trials: budget });
    expect(await listResults(db, 'study')).toHaveLength(budget);
    // Every generation is the one the planner makes of what came before it, with the study's budget: the
    // reserve at the end is kept (without the budget, the planner would have gone on searching).
    const observations = await variables.observations();
    let shaped = false;
    for (const g of await listGenerations(db, 'study')) {
      const before = observations.filter((o) => o.trial < g.tests[0]!.trial);
      const input = { space, generation: g.generation, seed: 4, population: 6, testsPerCombination: 1, retests: 1, budgetLeft: budget - before.length, observations: before, since: 0, explore: false, watchable: new Set<string>() };
      expect(planGeneration({ ...input, budget }).runs.map((r) => r.key)).toEqual(g.tests.map((t) => t.key));
      if (JSON.stringify(planGeneration(input).runs) !== JSON.stringify(planGeneration({ ...input, budget }).runs)) shaped = true;
    }
    expect(shaped).toBe(true);
  });

  it('records every finish as it is told of it, tasks that failed outright too, without waiting for its poll', async () => {
    // A poll longer than the test may run: only the finishes' events can move the study along.
    // One bot runs the tests in trial order, so a generation whose last trial crashes ends on a crash.
    const { variables } = await system({ experiment: { population: 6, testsPerCombination: 1, retests: 1, budget: 24, seed: 6, pollMs: 3_600_000, testMaxAttempts: 1 }, bots: 1, crashes: (trial) => trial % 2 === 1 });
    await variables.finished();
    const results = await listResults(db, 'study');
    expect(results).toHaveLength(24);
    expect(results.filter((r) => r.trial % 2 === 1).every((r) => !r.success && /E_CRASH/.test(r.reason ?? ''))).toBe(true);
    const generations = await listGenerations(db, 'study');
    expect(generations.some((g) => Math.max(...g.tests.map((t) => t.trial)) % 2 === 1)).toBe(true);
  });

  it('stops on stop_test and goes on after trigger_test', async () => {
    const { variables } = await system({ experiment: { population: 6, testsPerCombination: 1, maxGenerations: 50, seed: 5 } });
    await until('a first generation', () => listener.of(newGenerationCreatedEvent).length >= 1);
    await listener.sendCommand(stopTestCommand, {});
    await variables.finished();
    const stopped = (await listGenerations(db, 'study')).length;
    expect(variables.progressNow.state).toBe('stopped');
    expect(await listener.sendRequest(triggerTestRequest, {})).toMatchObject({ state: 'running' });
    await until('more generations', async () => (await listGenerations(db, 'study')).length > stopped + 1);
  });

  it('lets one variable agent drive a study while a second stands by, and hands it over when the first stops', async () => {
    const experiment = { population: 6, testsPerCombination: 1, maxGenerations: 6, seed: 5 };
    const { variables: first } = await system({ experiment });
    await until('a first generation', () => listener.of(newGenerationCreatedEvent).length >= 1);
    const heard: string[] = [];
    let tookOver = false;
    const second = new VariableAgent({
      bus,
      clock,
      db,
      registry,
      studyId: 'study',
      workload: 'synthetic',
      space,
      experiment: { pollMs: 50, ...experiment },
      driverName: 'the second',
      onStandby: (driver) => heard.push(driver.holder),
      onTakeOver: () => (tookOver = true),
    });
    agents.push(second);
    await second.start();
    await until('the second standing by', () => heard.length === 1);
    expect(heard[0]).toBe(`process ${process.pid} on ${os.hostname()}`);
    expect(second.progressNow.state).toBe('standby');

    await first.stop();
    await until('the second driving', () => tookOver);
    await second.finished();
    const generations = await listGenerations(db, 'study');
    expect(generations.map((g) => [g.generation, g.state])).toEqual([0, 1, 2, 3, 4, 5].map((g) => [g, 'scored']));
    const results = await listResults(db, 'study');
    expect(results.map((r) => r.taskId).sort()).toEqual(generations.flatMap((g) => g.tests.map((t) => t.taskId)).sort());
    expect(second.progressNow.state).toBe('finished');
  });

  it('runs a campaign of the best combination on the fleet and tracks it to the end', async () => {
    const { variables } = await system({ experiment: { population: 6, testsPerCombination: 2, maxGenerations: 2, seed: 9 } });
    await variables.finished();
    const started = await listener.sendRequest(startCampaignRequest, { runs: 12 });
    const best = await listener.sendRequest(getBestCombinationRequest, {});
    expect(started.key).toBe(best?.key);
    await until('the campaign to finish', async () => {
      const s = await listener.sendRequest(getCampaignStatusRequest, { campaignId: started.campaignId });
      return s.state === 'finished';
    });
    const status = await listener.sendRequest(getCampaignStatusRequest, { campaignId: started.campaignId });
    expect(status).toMatchObject({ done: 12, succeeded: 12 });
    await until('the campaign_finished event', () => listener.of(campaignFinishedEvent).length === 1);
  });

  it('takes drift detection on or off from each run of a study, and stores it where the analysis reads it', async () => {
    const experiment = { population: 4, testsPerCombination: 1, retests: 1, seed: 3 };
    const { variables } = await system({ experiment: { ...experiment, maxGenerations: 1 } });
    await variables.finished();
    await variables.stop();
    const settings = async () => ((await getStudy(db, 'study'))!.settings as { drift: { enabled: boolean; windowMs: number } }).drift;
    expect(await settings()).toMatchObject({ enabled: true });
    for (const [generations, enabled] of [
      [2, false],
      [3, true],
    ] as const) {
      const again = new VariableAgent({ bus, clock, db, registry, studyId: 'study', workload: 'synthetic', space, experiment: { pollMs: 50, ...experiment, maxGenerations: generations, drift: { enabled } } });
      agents.push(again);
      await again.start();
      await again.finished();
      await again.stop();
      expect(await settings()).toMatchObject({ enabled, windowMs: 7 * 24 * 3600 * 1000 });
      const report = (await listReports(db, 'study')).find((r) => r.generation === generations - 1)!.report as { drift: { off?: boolean } };
      expect(report.drift.off).toBe(enabled ? undefined : true);
    }
  });

  it('raises no environment change on the same drifting landscape with drift detection off', async () => {
    const population = 8;
    const driftAtTrial = 6 * population;
    const { variables } = await system({
      landscape: 8,
      driftAtTrial,
      experiment: { population, testsPerCombination: 1, retests: 2, maxGenerations: 12, seed: 4, drift: { enabled: false, windowGenerations: 2, threshold: 0.2 } },
    });
    await variables.finished();
    expect(listener.of(environmentChangeDetectedEvent)).toEqual([]);
    const reports = await listReports(db, 'study');
    expect(reports).toHaveLength(12);
    for (const r of reports) expect(r.report).toMatchObject({ changed: false, drift: { off: true } });
    expect((await getStudy(db, 'study'))!.exploreFrom).toBeNull();
  });

  it('detects an environment change on a drifting landscape and recovers the best score within a few generations', async () => {
    const population = 8;
    const driftAtTrial = 6 * population; // the optimum moves after six generations
    // Landscape 8 changes for real: its old optimum does worse than 96 % of random points after the drift.
    const { variables } = await system({
      landscape: 8,
      driftAtTrial,
      experiment: { population, testsPerCombination: 1, retests: 2, maxGenerations: 16, seed: 4, drift: { windowGenerations: 2, threshold: 0.2 } },
    });
    await variables.finished();
    expect(listener.of(environmentChangeDetectedEvent).length).toBeGreaterThanOrEqual(1);
    const alert = listener.of(environmentChangeDetectedEvent)[0]!;
    // One shape wherever it is heard: the drift's figures with it, not only the drop.
    expect(alert.data).toMatchObject({ studyId: 'study', baseline: expect.any(Number), recent: expect.any(Number), drop: expect.any(Number), since: expect.any(Number) });
    const detectedAt = alert.data.generation;
    const driftGeneration = (await listResults(db, 'study')).find((r) => r.trial >= driftAtTrial)!.generation;
    expect(detectedAt).toBeGreaterThanOrEqual(driftGeneration);
    expect(detectedAt).toBeLessThanOrEqual(driftGeneration + 3);
    // After the change the recommendation is judged on the new landscape, against its optimum.
    const landscape = syntheticLandscape(space, 8, { driftAtTrial });
    const recommended = await variables.recommendation();
    const after = landscape.value(recommended!.combination, driftAtTrial);
    const optimum = landscape.optimum(driftAtTrial).value;
    const randomValues = Array.from({ length: 200 }, (_, i) => {
      const rng = createRng(100 + i);
      return landscape.value({ x: -5 + 10 * rng.next(), n: Math.round(Math.exp(rng.next() * Math.log(1000))), mode: ['a', 'b', 'c'][Math.floor(rng.next() * 3)]!, on: rng.next() < 0.5 }, driftAtTrial);
    }).sort((a, b) => a - b);
    // Better than a random point of the new landscape by a wide margin: in its best tenth.
    expect(after - optimum).toBeLessThan(randomValues[20]! - optimum);
  });
});
