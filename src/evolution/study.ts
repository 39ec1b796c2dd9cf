import { classify, type Classification } from './classify.js';
import type { Combination } from './combination.js';
import type { Observation } from './observation.js';
import { rankForRecommendation } from './recommend.js';
import { scoreCombinations, succeeded, type Scored } from './scorer.js';
import { failuresRetried, type Space } from './space.js';
import { mayReach, SuccessModel, type SuccessEstimate } from './success-model.js';

/** A test result as a study records it: enough of it to become an observation. */
export interface RecordedResult {
  key: string;
  /** The generation the test belonged to; negative for runs outside the study's generations (campaigns). */
  generation: number;
  trial: number;
  success: boolean;
  value: number | null;
  at?: number;
}

/**
 * A study's recorded results as observations, in the order given: runs
 * outside its generations (campaigns) and results of combinations it does not
 * know are left out. A result that claims success without a finite value is a
 * failure, as the scorer counts it: it says nothing of the objective, and
 * calling it a success would only lift the success rate.
 */
export function observationsOf(results: readonly RecordedResult[], combinations: ReadonlyMap<string, Combination>): Observation[] {
  const out: Observation[] = [];
  for (const r of results) {
    const combination = combinations.get(r.key);
    if (r.generation < 0 || !combination) continue;
    const success = r.success && typeof r.value === 'number' && Number.isFinite(r.value);
    out.push({ key: r.key, combination, success, value: success ? r.value : null, generation: r.generation, trial: r.trial, ...(r.at === undefined ? {} : { at: r.at }) });
  }
  return out;
}

/** What a study knows, as the store holds it. */
export interface StudyEvidence {
  space: Space;
  /** Every observation of the study's generations (see observationsOf). */
  observations: readonly Observation[];
  /** The first trial of the landscape as it is now, after an environment change; null before any. */
  exploreFrom: number | null;
}

/** The filters of `get_best_combination`. */
export interface RecommendationFilters {
  /** The least success rate a combination needs (the study's `minSuccessRate`, 0.9 by default). */
  minSuccessRate: number;
  /** Only combinations of this class. */
  classification?: 'elite' | 'significant';
}

export interface Recommendation {
  best: Scored;
  /** Its probability of success, estimated from every evaluation near it (see SuccessModel). */
  success: SuccessEstimate;
  /** Its class among the evidence's combinations. */
  classification: Classification;
  /** The observations it was judged on: those since `since`. */
  evidence: readonly Observation[];
  /**
   * The first trial the evidence counts: the last environment change's, or 0
   * when nothing since the change has succeeded yet and the older evidence
   * stands in.
   */
  since: number;
  /** True when every combination's estimated success probability fell short of the filters (see mayReach), and the best elite or significant one was taken instead. */
  fellBack: boolean;
}


/** The success rate `recommendation` holds candidates to: none with failures retried, which are priced into the objective (cost per success). */
export const successFloor = (space: Space, minSuccessRate: number): number => (failuresRetried(space) ? 0 : minSuccessRate);

/**
 * The study's recommendation: the one answer of `get_best_combination`,
 * `orchestra best`, the summary of `start`, the `best` of `optimize` and the
 * best on their progress lines.
 *
 * It is judged on what was measured since the last environment change; when
 * nothing since has succeeded, the older evidence is still better than none.
 * Candidates come in the order `recommend` ranks them (noise-aware); the
 * first that passes the filters wins, the success rate judged by the
 * probability of success estimated from all the evaluations near it, not by
 * its own few tests alone: a combination passes unless that evidence, or its
 * own tests, show it below the rate asked for (see mayReach). When none passes, the first that is
 * elite or significant is taken (`fellBack`): a campaign asking for a
 * combination gets the best the study has rather than nothing. Undefined only
 * while nothing has succeeded.
 */
export function recommendation(study: StudyEvidence, filters: RecommendationFilters): Recommendation | undefined {
  const changedAt = study.exploreFrom ?? 0;
  let since = changedAt;
  let evidence: readonly Observation[] = study.observations.filter((o) => o.trial >= since);
  if (changedAt > 0 && !evidence.some(succeeded)) {
    since = 0;
    evidence = study.observations;
  }
  if (!evidence.some(succeeded)) return undefined;
  // One fit of the success model serves the ranking (cost per success, with failures retried) and the estimates.
  const model = new SuccessModel(study.space, evidence);
  const ranked = rankForRecommendation(study.space, evidence, { successModel: model });
  const classes = classify(scoreCombinations(study.space, evidence));
  const classOf = (s: Scored): Classification => classes.get(s.key) ?? 'deprecated';
  const estimates = new Map<string, SuccessEstimate>();
  const successOf = (s: Scored): SuccessEstimate => {
    let e = estimates.get(s.key);
    if (!e) estimates.set(s.key, (e = model.estimate(s.combination)));
    return e;
  };
  const minSuccess = successFloor(study.space, filters.minSuccessRate);
  const passing = ranked.find((s) => mayReach(s, successOf(s), minSuccess) && (!filters.classification || classOf(s) === filters.classification));
  const best = passing ?? ranked.find((s) => classOf(s) !== 'deprecated') ?? ranked[0]!;
  return { best, success: successOf(best), classification: classOf(best), evidence, since, fellBack: passing === undefined };
}
