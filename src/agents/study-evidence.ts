import type { BestCombination, JsonValue } from '../protocol/index.js';
import { getStudy, listCombinations, listResults, type Db, type StudyRow, type TestResultRow } from '../store/index.js';
import { observationsOf, parseSpace, recommendation, type Observation, type Recommendation, type Space, type StudyEvidence } from '../evolution/index.js';
import { experimentConfig } from './experiment-config.js';

/**
 * What a study knows, read from the store: the one reading behind every
 * recommendation (the variable agent's and the inspecting commands'), with the
 * raw results for what observations leave out (metrics, reasons).
 */
export async function readStudyEvidence(db: Db, study: StudyRow, space: Space = parseSpace(study.space)): Promise<StudyEvidence & { observations: Observation[]; results: TestResultRow[] }> {
  const combinations = new Map((await listCombinations(db, study.studyId)).map((c) => [c.key, c.variables]));
  const results = await listResults(db, study.studyId);
  return { space, observations: observationsOf(results, combinations), exploreFrom: study.exploreFrom, results };
}

/** The success rate a study's recommendation asks for unless told otherwise: its stored setting, or the default. */
export function minSuccessRateOf(settings: JsonValue): number {
  const stored = settings !== null && typeof settings === 'object' && !Array.isArray(settings) ? settings.minSuccessRate : undefined;
  const field = experimentConfig.shape.minSuccessRate;
  const parsed = field.safeParse(stored);
  return parsed.success ? parsed.data : field.parse(undefined);
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** A recommendation as `get_best_combination` answers it and `orchestra best --json` prints it. */
export function bestCombinationOf(studyId: string, r: Recommendation): BestCombination {
  const { best } = r;
  return {
    studyId,
    key: best.key,
    variables: best.combination,
    score: best.score,
    value: best.mean,
    successRate: best.successRate,
    tests: best.tests,
    successProbability: { p: round4(r.success.p), low: round4(r.success.low), high: round4(r.success.high) },
    classification: r.classification,
    fellBack: r.fellBack,
  };
}

export interface StudyBest extends BestCombination {
  /** Mean of each metric over the successful tests it was judged on. */
  metrics: Record<string, number>;
}

/**
 * The study's recommendation as it stands, from the store alone (the agents
 * need not be running): what `get_best_combination` answers with the study's
 * own filters, with its metrics. `best`, the summary of `start` and the
 * `best` of `optimize` all print this.
 */
export async function bestOf(db: Db, studyId: string): Promise<StudyBest | null> {
  const study = await getStudy(db, studyId);
  if (!study) return null;
  const evidence = await readStudyEvidence(db, study);
  const recommended = recommendation(evidence, { minSuccessRate: minSuccessRateOf(study.settings) });
  if (!recommended) return null;
  const judged = new Set(recommended.evidence.filter((o) => o.key === recommended.best.key && o.success).map((o) => o.trial));
  const runs = evidence.results.filter((r) => r.generation >= 0 && r.key === recommended.best.key && judged.has(r.trial)).map((r) => r.metrics);
  const metrics: Record<string, number> = {};
  for (const name of new Set(runs.flatMap((m) => Object.keys(m)))) {
    const values = runs.map((m) => m[name]).filter((v): v is number => typeof v === 'number');
    if (values.length) metrics[name] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  return { ...bestCombinationOf(studyId, recommended), metrics };
}
