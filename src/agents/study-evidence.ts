import type { BestCombination, JsonValue } from '../protocol/index.js';
import { listCombinations, listResults, type Db, type StudyRow, type TestResultRow } from '../store/index.js';
import { observationsOf, parseSpace, type Observation, type Recommendation, type Space, type StudyEvidence } from '../evolution/index.js';
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
    classification: r.classification,
    fellBack: r.fellBack,
  };
}
