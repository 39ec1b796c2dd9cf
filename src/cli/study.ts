import { classify, parseSpace, recommend, scoreCombinations, type Combination, type Observation, type Scored, type Space } from '../evolution/index.js';
import { OrchestraError } from '../protocol/index.js';
import { getStudy, listCombinations, listResults, listStudies, type Db, type StudyRow } from '../store/index.js';

/**
 * What the inspecting commands read of a study: every observation of its
 * generations (campaign runs left out), the trial its landscape last changed
 * at, and each combination's metrics from its successful tests.
 */
async function studyEvidence(db: Db, study: StudyRow): Promise<{ observations: Observation[]; since: number; metrics: Map<string, Record<string, number>[]> }> {
  const { studyId } = study;
  const variables = new Map((await listCombinations(db, studyId)).map((c) => [c.key, c.variables as Combination]));
  const results = (await listResults(db, studyId)).filter((r) => r.generation >= 0 && variables.has(r.key));
  const metrics = new Map<string, Record<string, number>[]>();
  for (const r of results) if (r.success) metrics.set(r.key, [...(metrics.get(r.key) ?? []), r.metrics]);
  return {
    observations: results.map((r) => ({
      key: r.key,
      combination: variables.get(r.key)!,
      success: r.success,
      value: r.success ? r.value : null,
      generation: r.generation,
      trial: r.trial,
      at: r.at,
    })),
    since: study.exploreFrom ?? 0,
    metrics,
  };
}

/**
 * After an environment change only what was measured since counts; when
 * nothing since has succeeded yet, the older evidence is still better than none.
 */
function recommendSince(space: Space, observations: readonly Observation[], since: number): { best: Scored; evidence: readonly Observation[] } | null {
  const recent = observations.filter((o) => o.trial >= since);
  const best = recommend(space, recent);
  if (best) return { best, evidence: recent };
  const older = since > 0 ? recommend(space, observations) : undefined;
  return older ? { best: older, evidence: observations } : null;
}

export interface BestCombination {
  studyId: string;
  key: string;
  variables: Combination;
  score: number;
  value: number | null;
  successRate: number;
  tests: number;
  classification: string;
  /** Mean of each metric over its successful tests. */
  metrics: Record<string, number>;
}

/** The study's recommendation as it stands, from the store alone (the agents need not be running). */
export async function bestOf(db: Db, studyId: string): Promise<BestCombination | null> {
  const study = await getStudy(db, studyId);
  if (!study) return null;
  const space = parseSpace(study.space);
  const { observations, since, metrics } = await studyEvidence(db, study);
  const recommended = recommendSince(space, observations, since);
  if (!recommended) return null;
  const { best, evidence } = recommended;
  const classes = classify(scoreCombinations(space, evidence));
  const mean: Record<string, number> = {};
  const runs = metrics.get(best.key) ?? [];
  for (const name of new Set(runs.flatMap((m) => Object.keys(m)))) {
    const values = runs.map((m) => m[name]).filter((v): v is number => typeof v === 'number');
    if (values.length) mean[name] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  return {
    studyId,
    key: best.key,
    variables: best.combination,
    score: best.score,
    value: best.mean,
    successRate: best.successRate,
    tests: best.tests,
    classification: classes.get(best.key) ?? 'deprecated',
    metrics: mean,
  };
}

/** `--study`, or the study most recently changed. */
export async function chooseStudy(db: Db, studyId: string | undefined): Promise<string> {
  if (studyId) return studyId;
  const studies = await listStudies(db);
  const latest = studies.sort((a, b) => b.updatedAt - a.updatedAt)[0];
  if (!latest) throw new OrchestraError('ORC_AGENT_NOT_FOUND', 'this store holds no study yet: run orchestra start (or optimize with --data)');
  return latest.studyId;
}
