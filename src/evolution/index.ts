/**
 * evolution: variable spaces, the genetic algorithm with model-guided proposals,
 * the scorer, elite / significant / deprecated classification, retests,
 * recommendation and drift detection. Pure functions: randomness comes in as a
 * seeded `Rng`, time as arguments; no I/O.
 */
export { parseSpace, parseSpaceJson, spaceSchema, variableSchema, failuresRetried, type Space, type Variable, type Choice } from './space.js';
export { combinationKey, checkCombination, FLOAT_DIGITS, type Combination } from './combination.js';
export { observationSchema, type Observation } from './observation.js';
export { initialPopulation, DEFAULT_POPULATION } from './population.js';
export { proposeGeneration, type ProposeOptions } from './ga.js';
export { SEARCH_DEFAULTS, type SearchTuning } from './tuning.js';
export { scoreCombinations, DEFAULT_SCORE_WEIGHTS, type ScoreWeights, type Scored } from './scorer.js';
export { classify, classSizes, type Classification } from './classify.js';
export { retestCandidates, MAX_RETESTS } from './retest.js';
export { raceReserve, raceTests, raceWarranted } from './racing.js';
export { recommend, rankForRecommendation, type RecommendOptions } from './recommend.js';
export { recommendation, observationsOf, type Recommendation, type RecommendationFilters, type RecordedResult, type StudyEvidence } from './study.js';
export { mayReach, SuccessModel, type SuccessEstimate } from './success-model.js';
export { nextGenerationAt, cadenceProblem } from './cadence.js';
export { campaignFinished, campaignMean, campaignRunAt, tallyCampaignRuns, type CampaignTally } from './campaign.js';
export { environmentDrift, generationReport, predictAll, predictionError, TREND_POINTS, type EnvironmentDriftOptions, type NoBaseline, type Prediction, type ResultAt, type ScoreAt } from './analysis.js';
export { planGeneration, retestsOf, watchableKeys, type GenerationPlan, type GenerationPlanInput } from './planning.js';
export { detectDrift, detectEliteDrift, repeatNoise, studentCritical, normalTail, binomialTail, DEFAULT_DRIFT_OPTIONS, EXPLORE_GENERATIONS_AFTER_CHANGE, type DriftOptions, type DriftPoint, type DriftReport, type EliteDriftPoint, type EliteDriftReport } from './drift.js';
