import { describe, it, expect, beforeEach } from 'vitest';
import { combinationKey, parseSpace } from '../../src/evolution/index.js';
import { createStudy, insertGeneration, insertResults, setExploreFrom, type Db, type TestResultRow } from '../../src/store/index.js';
import { bestOf } from '../../src/agents/index.js';
import { embeddedStore } from '../agents/helpers.js';

const NOW = Date.UTC(2026, 0, 1);
const SPACE = { name: 'line', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'int', min: 0, max: 10 } } };
const space = parseSpace(SPACE);
const key = (x: number) => combinationKey(space, { x });

/** A study whose trials are `[x, value | null]`, one generation, trial numbers in order. */
async function study(db: Db, trials: [number, number | null][]): Promise<void> {
  await createStudy(db, 's', SPACE, {}, NOW);
  const xs = [...new Set(trials.map(([x]) => x))];
  const tests = trials.map(([x], trial) => ({ key: key(x), trial, taskId: `t${trial}` }));
  await insertGeneration(db, { studyId: 's', generation: 0, combinations: xs.map((x) => ({ key: key(x), variables: { x } })), tests }, NOW);
  await insertResults(
    db,
    trials.map(([x, value], trial): TestResultRow => ({
      taskId: `t${trial}`,
      studyId: 's',
      key: key(x),
      generation: 0,
      trial,
      success: value !== null,
      value,
      metrics: value === null ? {} : { value },
      reason: value === null ? 'failed' : null,
      botId: null,
      at: NOW + trial,
    })),
  );
}

describe('the recommendation the inspecting commands and optimize print', () => {
  const store = embeddedStore();
  let db: Db;
  beforeEach(async () => {
    db = await store.reset(NOW);
  });

  it('is the best combination, with its metrics averaged over its successful tests', async () => {
    await study(db, [[3, 5], [7, 1], [7, 3], [2, null]]);
    expect(await bestOf(db, 's')).toMatchObject({ variables: { x: 7 }, value: 2, tests: 2, successRate: 1, metrics: { value: 2 } });
  });

  it('counts only what was measured since the landscape changed', async () => {
    await study(db, [[7, 1], [3, 5], [4, 4]]);
    await setExploreFrom(db, 's', 1, NOW);
    expect(await bestOf(db, 's')).toMatchObject({ variables: { x: 4 }, value: 4 });
  });

  it('falls back on the older evidence when nothing since the change has succeeded', async () => {
    await study(db, [[7, 1], [3, 5], [4, null]]);
    await setExploreFrom(db, 's', 2, NOW);
    expect(await bestOf(db, 's')).toMatchObject({ variables: { x: 7 }, value: 1 });
  });

  it('is none while nothing has succeeded', async () => {
    await study(db, [[7, null], [3, null]]);
    expect(await bestOf(db, 's')).toBeNull();
  });
});
