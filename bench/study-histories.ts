/**
 * Seeded study histories written to the store as a study leaves them: its
 * generations (planned and scored), every test result, campaign runs, and the
 * trial an environment change was detected at. The evaluations come from the
 * synthetic landscape; the plans from the evolution part (initial population,
 * proposals, retests of the best), so the histories look like real studies.
 *
 * Four kinds: `noisy` (repeated tests disagree), `failing` (many evaluations
 * fail, a few claim success without a value), `drifting` (the landscape
 * changes and the study knows since when), `deterministic`.
 */
import { createRng, type JsonValue } from '../src/protocol/index.js';
import {
  combinationKey,
  initialPopulation,
  parseSpace,
  proposeGeneration,
  retestCandidates,
  scoreCombinations,
  type Combination,
  type Observation,
  type Space,
} from '../src/evolution/index.js';
import { createStudy, insertGeneration, insertResults, markGenerationScored, setExploreFrom, setStudyState, type Db, type TestResultRow } from '../src/store/index.js';
import { syntheticEvaluator } from '../src/workloads/index.js';

export const HISTORY_KINDS = ['noisy', 'failing', 'drifting', 'deterministic'] as const;
export type HistoryKind = (typeof HISTORY_KINDS)[number];

export const SYNTHETIC_SPACE = {
  name: 'synthetic',
  objective: { metric: 'value', direction: 'minimize' },
  variables: {
    x: { type: 'float', min: -5, max: 5 },
    n: { type: 'int', min: 1, max: 1000, log: true },
    mode: { type: 'categorical', choices: ['a', 'b', 'c'] },
    on: { type: 'bool' },
  },
} as const;

export interface HistoryOptions {
  studyId: string;
  seed: number;
  kind: HistoryKind;
  /** The study's space as stored; the synthetic four-variable space unless given. */
  space?: JsonValue;
  /** Settings stored with the study (the experiment configuration); `{}`: the defaults. */
  settings?: JsonValue;
  /** The state the study is left in; `stopped` keeps a variable agent started on it from planning more. */
  state?: string;
  nowMs: number;
}

export interface WrittenHistory {
  studyId: string;
  kind: HistoryKind;
  generations: number;
  trials: number;
  exploreFrom: number | null;
}

const between = (rng: { next(): number }, lo: number, hi: number) => lo + (hi - lo) * rng.next();
const count = (rng: { next(): number }, lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));

/** Writes one history; everything in it follows from the options. */
export async function writeHistory(db: Db, options: HistoryOptions): Promise<WrittenHistory> {
  const { studyId, seed, kind, nowMs } = options;
  const spaceJson = options.space ?? (SYNTHETIC_SPACE as unknown as JsonValue);
  const space: Space = parseSpace(spaceJson);
  const rng = createRng(seed * 2_654_435_761 + 17);
  const population = count(rng, 4, 12);
  const testsPerCombination = count(rng, 1, 3);
  const generations = count(rng, 2, 6);
  const retests = count(rng, 0, 2);
  const noise = kind === 'noisy' ? between(rng, 0.02, 0.3) : kind === 'deterministic' ? 0 : between(rng, 0, 0.1);
  const failureRate = kind === 'failing' ? between(rng, 0.1, 0.6) : kind === 'drifting' ? between(rng, 0, 0.3) : 0;
  const planned = generations * population * testsPerCombination;
  const driftAtTrial = kind === 'drifting' ? Math.round(planned * between(rng, 0.3, 0.7)) : undefined;
  const evaluate = syntheticEvaluator(space, { seed, noise, failureRate, ...(driftAtTrial === undefined ? {} : { driftAtTrial }) });

  await createStudy(db, studyId, spaceJson, options.settings ?? {}, nowMs);
  const observations: Observation[] = [];
  const tested = new Set<string>();
  let trial = 0;
  for (let g = 0; g < generations; g++) {
    const fresh =
      g === 0
        ? initialPopulation(space, population, rng, tested)
        : proposeGeneration(space, observations, { size: population, generation: g, rng, exclude: tested });
    const runs: Combination[] = [];
    if (g > 0) for (const s of retestCandidates(scoreCombinations(space, observations), retests)) runs.push(s.combination);
    for (const c of fresh) for (let i = 0; i < testsPerCombination; i++) runs.push(c);
    const tests = runs.map((c, i) => ({ key: combinationKey(space, c), trial: trial + i, taskId: `${studyId}-t${trial + i}` }));
    const combinations = [...new Map(runs.map((c) => [combinationKey(space, c), c])).entries()].map(([key, variables]) => ({ key, variables }));
    await db.transaction((tx) => insertGeneration(tx, { studyId, generation: g, combinations, tests }, nowMs));
    const rows: TestResultRow[] = [];
    for (const [i, c] of runs.entries()) {
      const t = tests[i]!;
      const e = await evaluate({ variables: c, trial: t.trial }, new AbortController().signal);
      // A few evaluations of the failing kind claim success without a value, as a careless evaluator's would.
      const valueless = kind === 'failing' && e.success && rng.next() < 0.05;
      const success = e.success;
      const value = e.success && !valueless ? e.value : null;
      rows.push({
        taskId: t.taskId,
        studyId,
        key: t.key,
        generation: g,
        trial: t.trial,
        success,
        value,
        metrics: value === null ? e.metrics : { ...e.metrics, value },
        reason: success ? null : e.reason,
        botId: `b${(t.trial % 4) + 1}`,
        at: nowMs + t.trial * 1000,
      });
      observations.push({ key: t.key, combination: c, success: success && value !== null, value, generation: g, trial: t.trial, at: nowMs + t.trial * 1000 });
      tested.add(t.key);
    }
    await insertResults(db, rows);
    await markGenerationScored(db, studyId, g, {}, nowMs + trial * 1000);
    trial += runs.length;
  }

  // Campaign runs of one combination: results outside the study's generations.
  const campaignKey = observations[0]!.key;
  await insertResults(
    db,
    Array.from({ length: count(rng, 0, 3) }, (_, i): TestResultRow => ({
      taskId: `${studyId}-c${i}`,
      studyId,
      key: campaignKey,
      generation: -1,
      trial: i,
      success: true,
      value: -1000,
      metrics: { value: -1000 },
      reason: null,
      botId: 'b1',
      at: nowMs + (trial + i) * 1000,
    })),
  );

  let exploreFrom: number | null = null;
  if (driftAtTrial !== undefined && driftAtTrial < trial) {
    // Detected somewhere after the change; now and then so late that nothing since has succeeded yet.
    exploreFrom = Math.min(trial - 1, driftAtTrial + count(rng, 0, population * testsPerCombination));
    await setExploreFrom(db, studyId, exploreFrom, nowMs);
  }
  await setStudyState(db, studyId, options.state ?? 'stopped', nowMs);
  return { studyId, kind, generations, trials: trial, exploreFrom };
}
