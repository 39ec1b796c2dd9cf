/**
 * The search's knobs. The defaults were chosen on bench/evolution-quality.ts
 * (budgets 100 and 400, populations 20 and 50, six landscapes); the figures in
 * its report back them. Callers override any of them through
 * `ProposeOptions.tuning`, mainly for experiments.
 */
export interface SearchTuning {
  /** Share of the ranked combinations the density model treats as good (TPE's γ). */
  goodFraction: number;
  /** Candidates generated per proposal slot (at least `minPool` in all). */
  candidatesPerSlot: number;
  minPool: number;
  /** Shares of the candidate pool by source; the rest are uniform draws. */
  localShare: number;
  offspringShare: number;
  modelShare: number;
  /** Local perturbation steps are log-uniform in [minStep, maxStep] (unit-cube coordinates). */
  minStep: number;
  maxStep: number;
  /** SBX distribution index: children fairly near their parents. */
  sbxEta: number;
  /**
   * Weight of the surrogate's prediction against distance from what was tested,
   * cycled over a generation's slots: low weights explore, high ones exploit.
   */
  meritWeights: readonly number[];
  /** Surrogate smoothing per unit of (normalised) noise variance. */
  noiseRidge: number;
  /** Surrogate smoothing always applied (normalised units): a little keeps the fit stable between near-duplicates. */
  baseRidge: number;
  /** Most combinations the surrogate is fitted to (the fit is O(n³)). */
  maxSurrogatePoints: number;
  /**
   * On an exact landscape (no combination tested twice gave two values or two
   * outcomes), the share of a generation given to the genetic algorithm's
   * offspring as they are, unranked by the surrogate: where the landscape is
   * rugged the surrogate's ranking misleads, and selection by the values
   * themselves does not. Under noise none is (a value seen once may be luck).
   */
  modelFreeShare: number;
  /** On an exact landscape, the parents are at most the best this many… */
  exactParents: number;
  /** …and the elite, which the local perturbations centre on, at most the best this many. */
  exactElite: number;
  /**
   * On an exact landscape, one slot of a generation is the surrogate's own
   * minimum when the surrogate ranked the last generation's new combinations
   * with at least this Kendall's τ (above 1: never). Smooth landscapes measure
   * 0.7–0.95, rugged ones (Rastrigin) 0–0.6.
   */
  trustedSkill: number;
}

export const SEARCH_DEFAULTS: Readonly<SearchTuning> = Object.freeze({
  goodFraction: 0.2,
  candidatesPerSlot: 20,
  minPool: 500,
  localShare: 0.35,
  offspringShare: 0.3,
  modelShare: 0.2,
  minStep: 0.002,
  maxStep: 0.2,
  sbxEta: 10,
  meritWeights: Object.freeze([0.3, 0.5, 0.8, 0.95]),
  noiseRidge: 1,
  baseRidge: 1e-3,
  maxSurrogatePoints: 400,
  modelFreeShare: 0.5,
  exactParents: 20,
  exactElite: 3,
  trustedSkill: 0.6,
});
