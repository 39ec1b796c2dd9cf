import type { Rng } from '../protocol/index.js';
import { Batch, normalisePredictions, type PoolEntry } from './batch.js';
import { generateCandidates } from './candidates.js';
import { classSizes } from './classify.js';
import { keyOf, type Combination } from './combination.js';
import { decode, dimsOf, encode, type Dim } from './encoding.js';
import { fitFailures } from './feasibility.js';
import { DEFAULT_PARZEN, fitParzen } from './model.js';
import type { Observation } from './observation.js';
import { fillFresh, initialPopulation } from './population.js';
import { pooledSpread, scoreCombinations, type Scored } from './scorer.js';
import type { Space } from './space.js';
import { distance, features, fitRbf, tailColumns } from './surrogate.js';
import { trendMinimum } from './quadratic-trend.js';
import { SEARCH_DEFAULTS, type SearchTuning } from './tuning.js';

export interface ProposeOptions {
  /** How many combinations to propose (the caller truncates to its remaining budget). */
  size: number;
  /** 0 = the initial population. */
  generation: number;
  rng: Rng;
  /** Keys already tested: never proposed again (a retest is the caller's decision, see retestCandidates). */
  exclude?: ReadonlySet<string>;
  /** 0..1, raised after an environment change: more exploration, elites still kept as parents. */
  explore?: number;
  /** Overrides of the search's knobs (SEARCH_DEFAULTS); for experiments and benchmarks. */
  tuning?: Partial<SearchTuning>;
}

/** Per-dimension GA mutation step from the parents' spread: wide while they disagree, fine once they agree. */
function adaptiveSteps(dims: readonly Dim[], parents: readonly number[][], explore: number): number[] {
  return dims.map((_, j) => {
    let m = 0;
    for (const p of parents) m += p[j]!;
    m /= parents.length;
    let s = 0;
    for (const p of parents) s += (p[j]! - m) ** 2;
    const std = parents.length > 1 ? Math.sqrt(s / (parents.length - 1)) : 0.2;
    return Math.min(0.3, Math.max(0.01, std * (1 + 2 * explore)));
  });
}

/** A successful combination's mean with the objective's direction taken out: lower is better. */
const lowerIsBetter = (space: Space, s: Scored): number => (space.objective.direction === 'minimize' ? 1 : -1) * s.mean!;

/**
 * What the surrogate learns, per combination that succeeded, lower is better:
 * the mean in the objective's direction, clipped at the median (so a few awful
 * values do not flatten the good region, as Regis & Shoemaker clip) and scaled
 * so the best is 0 and the median 1. Failures are the failure model's business.
 */
function surrogateTargets(space: Space, scored: readonly Scored[]): { ys: number[]; scale: number } {
  const raw = scored.map((s) => lowerIsBetter(space, s));
  const sorted = [...raw].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const best = sorted[0]!;
  const scale = median - best || 1;
  return { ys: raw.map((y) => (Math.min(y, median) - best) / scale), scale };
}

/**
 * The parent pool: indices into `scored` (best first) of the elite and significant
 * combinations among those that succeeded (classify's top 50 %, at least two when
 * two succeeded). Elitism: the elite are always in it, unchanged, whatever was
 * proposed since; they are never proposed again for evaluation.
 */
export function parentPool(scored: readonly Scored[]): { parents: number[]; elite: number } {
  const successful = scored.flatMap((s, i) => (s.successes > 0 ? [i] : []));
  const { elite, significant } = classSizes(successful.length);
  return { parents: successful.slice(0, Math.max(Math.min(2, successful.length), elite + significant)), elite };
}

/**
 * Whether the landscape looks exact as far as the tests show: no combination
 * tested more than once succeeded one time and failed another, or gave two
 * values. Nothing tested twice yet counts as exact; the retests of the first
 * generations settle it.
 */
export function isExact(scored: readonly Scored[]): boolean {
  return !scored.some((s) => s.successes > 0 && s.successes < s.tests) && !((pooledSpread(scored) ?? 0) > 0);
}

/**
 * Which of the successful combinations (indices, best first) the surrogate is fitted
 * to: all of them up to `max`; beyond, the best half of `max` (where precision
 * matters) and the rest spread evenly over the others (the landscape's shape). The
 * fit costs O(n³), and a long-running experiment may hold thousands of results.
 */
function surrogateSample(successful: readonly number[], max: number): number[] {
  if (successful.length <= max) return [...successful];
  const top = Math.floor(max / 2);
  const rest = successful.slice(top);
  const spread = Array.from({ length: max - top }, (_, i) => rest[Math.floor((i * rest.length) / (max - top))]!);
  return [...successful.slice(0, top), ...spread];
}

/**
 * The generation after `observations`: the genetic algorithm's offspring and
 * their companions (candidates.ts) ranked by a surrogate of the landscape.
 *
 * 1. Every tested combination is scored (repeated tests averaged, failures below
 *    any success) and ranked. Parents are the elite and significant ones
 *    (parentPool). Elitism: the elite are always parents, unchanged, and are never
 *    proposed again for evaluation (their keys are taken).
 * 2. A pool of candidates (elite perturbations at many scales; offspring by
 *    tournament selection, SBX / uniform / two-point crossover and adaptive
 *    mutation; draws from a TPE-style density of the good combinations; uniform
 *    draws) is snapped to combinations; tested and excluded ones are dropped.
 * 3. A cubic RBF surrogate (surrogate.ts) times the failure model (feasibility.ts)
 *    predicts each candidate: regions that failed are predicted bad, so the
 *    search learns to avoid them, while a failure by chance changes little.
 * 4. Slots are filled by merit, prediction against distance from what was tested
 *    or chosen (batch.ts): a batch that mixes exploitation and exploration and
 *    keeps the population diverse.
 * 5. On an exact landscape (isExact), selection is hard: parents are at most the
 *    best `exactParents` and the elite at most the best `exactElite`, and
 *    `modelFreeShare` of the slots take the GA's offspring as they come, unranked:
 *    on a rugged landscape (a grid of local minima) a smooth surrogate points
 *    between the minima, and offspring selected by the values themselves find
 *    them; on a smooth one the ranked half still does what the surrogate does
 *    best. Under noise or chance failures none of this applies: a value seen
 *    once may be luck, and the surrogate smooths it.
 * 6. Also on an exact landscape, slots for the models' own minima: the trend's
 *    (quadratic-trend.ts: a separable quadratic, the valley under the ripples of a rugged
 *    landscape, as response-surface methods fit), and, where the surrogate
 *    ranked the last generation well (surrogateSkill at least `trustedSkill`:
 *    a smooth landscape), the surrogate's, found by a compass search from the
 *    pool's best prediction: the last digits of a smooth optimum are where a
 *    ranked pool of random perturbations is slow.
 * 7. `explore` lowers the prediction's weight, widens steps and mutation, sends
 *    up to half the slots to uniform draws and fades the unranked share (none at
 *    explore ≥ 0.5), while the models relearn; no slot goes to a model's
 *    minimum. No key is proposed twice, nor any tested or excluded key; a space
 *    with fewer untested combinations than `size` yields what is left.
 */
export function proposeGeneration(space: Space, observations: readonly Observation[], options: ProposeOptions): Combination[] {
  const size = Math.max(0, Math.floor(options.size));
  const { rng } = options;
  const t: SearchTuning = { ...SEARCH_DEFAULTS, ...options.tuning };
  const explore = Math.min(1, Math.max(0, options.explore ?? 0));
  const taken = new Set<string>(options.exclude ?? []);
  for (const o of observations) taken.add(o.key);
  if (size === 0) return [];
  if (options.generation === 0 || observations.length === 0) return initialPopulation(space, size, rng, taken);

  const dims = dimsOf(space);
  const scored = scoreCombinations(space, observations);
  const genomes = scored.map((s) => encode(space, s.combination));
  const successful = scored.flatMap((s, i) => (s.successes > 0 ? [i] : []));

  const nGood = successful.length === 0 ? 0 : Math.min(successful.length, Math.max(1, Math.ceil(t.goodFraction * scored.length)));
  const good = fitParzen(dims, successful.slice(0, nGood).map((i) => genomes[i]!), {
    bandwidthScale: 1 + 2 * explore,
    priorWeight: 1 + 4 * explore,
    epsilon: DEFAULT_PARZEN.epsilon,
  });
  // Values that are exact can be trusted one by one: select hard among them (see SearchTuning.exactParents).
  const exact = isExact(scored);
  const broad = parentPool(scored);
  const parentIndices = exact ? broad.parents.slice(0, t.exactParents) : broad.parents;
  const elite = exact ? Math.min(parentIndices.length, t.exactElite, broad.elite) : broad.elite;
  const parents = parentIndices.map((i) => genomes[i]!);

  const predict = fitPredictor(space, dims, scored, successful, genomes, t);

  // The pool: candidates snapped to distinct untested combinations.
  const sources = { dims, parents, elite, good, sigma: parents.length ? adaptiveSteps(dims, parents, explore) : [], explore };
  const pool: PoolEntry<{ c: Combination; key: string }>[] = [];
  const inPool = new Set<string>();
  for (const u of generateCandidates(rng, sources, Math.max(t.minPool, t.candidatesPerSlot * size), t)) {
    const c = decode(space, u);
    const key = keyOf(space, c);
    if (taken.has(key) || inPool.has(key)) continue;
    inPool.add(key);
    const f = features(dims, encode(space, c));
    let nearest = Infinity;
    for (const x of predict.tested) nearest = Math.min(nearest, distance(f, x));
    pool.push({ item: { c, key }, f, predicted: predict.value(f), nearest });
  }
  normalisePredictions(pool);

  const batch = new Batch(pool);
  const out: Combination[] = [];
  /** Takes the combination at genome `u` unranked, unless its key is taken; later ranked picks keep away from it. */
  const take = (u: readonly number[]): void => {
    const c = decode(space, u);
    const key = keyOf(space, c);
    if (taken.has(key)) return;
    taken.add(key);
    out.push(c);
    batch.avoid(features(dims, encode(space, c)));
  };
  // On an exact landscape, part of the generation is the GA's own (fading after a change, while the models relearn).
  const modelFree = exact && parents.length ? Math.round(size * t.modelFreeShare * Math.max(0, 1 - 2 * explore)) : 0;
  if (modelFree > 0) {
    for (const u of generateCandidates(rng, sources, modelFree * 4, { ...t, localShare: 0, offspringShare: 1, modelShare: 0 })) {
      if (out.length >= modelFree) break;
      take(u);
    }
  }
  // On an exact landscape, slots for the models' minima: the trend's, and the surrogate's where it has shown it
  // ranks well (see SearchTuning.trustedSkill).
  const skill = exact && explore === 0 ? surrogateSkill(space, observations, t) : null;
  if (skill !== null) {
    const minima: (number[] | null)[] = [];
    if (skill >= t.trustedSkill && pool.length) {
      let start = pool[0]!;
      for (const p of pool) if (p.predicted < start.predicted) start = p;
      minima.push(descend(dims, encode(space, start.item.c), (f) => predict.value(f)));
    }
    minima.push(trendMinimum(dims, successful.map((i) => genomes[i]!), successful.map((i) => lowerIsBetter(space, scored[i]!)), genomes[successful[0]!]!));
    for (const u of minima) if (u && out.length < size) take(u);
  }
  for (let slot = out.length; slot < size; slot++) {
    if (explore > 0 && rng.next() < 0.5 * explore) {
      // After a change, part of the generation goes anywhere, models notwithstanding.
      const before = out.length;
      fillFresh(space, out, before + 1, taken, rng);
      if (out.length > before) {
        batch.avoid(features(dims, encode(space, out[before]!)));
        continue;
      }
    }
    const w = t.meritWeights[slot % t.meritWeights.length]! * (1 - 0.7 * explore);
    const chosen = batch.pick(w, (item) => taken.has(item.key));
    if (!chosen) break;
    taken.add(chosen.key);
    out.push(chosen.c);
  }
  // A pool exhausted early (a small space, or a neighbourhood fully tested): fill from anywhere.
  return out.length < size ? fillFresh(space, out, size, taken, rng) : out;
}

/**
 * What the generation is ranked by: the RBF surrogate of the value, fitted to the
 * combinations that succeeded (smoothed where repeated tests show noise, less for
 * well-tested means), combined with the failure model: a failure counts as the
 * worst clipped value (1), so the expected target is (1 − p)·value + p.
 */
function fitPredictor(
  space: Space,
  dims: readonly Dim[],
  scored: readonly Scored[],
  successful: readonly number[],
  genomes: readonly number[][],
  t: SearchTuning,
): { tested: number[][]; value(f: number[]): number } {
  const tested = genomes.map((u) => features(dims, u));
  const fitted = surrogateSample(successful, t.maxSurrogatePoints);
  const ok = fitted.map((i) => scored[i]!);
  let predictValue: (f: number[]) => number = () => 0;
  if (ok.length) {
    const { ys, scale } = surrogateTargets(space, ok);
    const noise = (pooledSpread(ok) ?? 0) / scale;
    const ridge = ok.map((s) => t.baseRidge + (t.noiseRidge * noise * noise) / s.successes);
    const surrogate = fitRbf(fitted.map((i) => tested[i]!), ys, tailColumns(dims), ridge);
    if (surrogate) predictValue = (f) => surrogate.predict(f);
  }
  const failures = fitFailures(tested, scored.map((s) => s.tests), scored.map((s) => s.tests - s.successes), dims.length);
  return {
    tested,
    value(f) {
      const p = failures.probability(f);
      return (1 - p) * Math.min(1, predictValue(f)) + p;
    },
  };
}

/** Most evaluations of the surrogate one descent makes (each O(n·d) for n fitted points). */
const DESCENT_EVALUATIONS = 4000;

/**
 * A compass search on the surrogate from `start` (a genome): each float
 * coordinate in turn moves by ±step while that lowers the prediction; a sweep
 * with no move halves the step, from 0.05 of the range down to 1e-5. Integer and
 * categorical coordinates stay as they are (the pool's candidates vary them).
 */
function descend(dims: readonly Dim[], start: readonly number[], value: (f: number[]) => number): number[] {
  const u = [...start];
  const floats = dims.flatMap((d, j) => (d.kind !== 'categorical' && d.levels === Infinity ? [j] : []));
  if (floats.length === 0) return u;
  let here = value(features(dims, u));
  let left = DESCENT_EVALUATIONS;
  for (let step = 0.05; step > 1e-5 && left > 0; ) {
    let moved = false;
    for (const j of floats) {
      for (const dir of [1, -1]) {
        const was = u[j]!;
        u[j] = Math.min(1, Math.max(0, was + dir * step));
        const v = value(features(dims, u));
        left--;
        if (v < here) {
          here = v;
          moved = true;
          break;
        }
        u[j] = was;
      }
    }
    if (!moved) step /= 2;
  }
  return u;
}

/**
 * How well the surrogate ranks what it is asked to rank: fitted to the tests
 * made before the last generation that brought new combinations, Kendall's τ
 * between its predictions for those combinations and what they measured (1: the
 * same order; about 0: no better than chance). Null with fewer than four of
 * them that succeeded, or fewer than two successes before them.
 */
export function surrogateSkill(space: Space, observations: readonly Observation[], t: SearchTuning = SEARCH_DEFAULTS): number | null {
  const dims = dimsOf(space);
  const first = new Map<string, number>();
  for (const o of observations) first.set(o.key, Math.min(first.get(o.key) ?? Infinity, o.generation));
  let last = -Infinity;
  for (const g of first.values()) last = Math.max(last, g);
  const before = observations.filter((o) => o.generation < last);
  const held = scoreCombinations(space, observations.filter((o) => first.get(o.key) === last)).filter((s) => s.successes > 0);
  if (held.length < 4 || before.length === 0) return null;
  const scored = scoreCombinations(space, before);
  const genomes = scored.map((s) => encode(space, s.combination));
  const successful = scored.flatMap((s, i) => (s.successes > 0 ? [i] : []));
  if (successful.length < 2) return null;
  const predict = fitPredictor(space, dims, scored, successful, genomes, t);
  const pred = held.map((s) => predict.value(features(dims, encode(space, s.combination))));
  const actual = held.map((s) => lowerIsBetter(space, s));
  let agree = 0;
  let pairs = 0;
  for (let i = 0; i < held.length; i++) {
    for (let j = i + 1; j < held.length; j++) {
      const a = Math.sign(actual[i]! - actual[j]!);
      const p = Math.sign(pred[i]! - pred[j]!);
      if (a === 0) continue;
      pairs++;
      agree += a * p;
    }
  }
  return pairs ? agree / pairs : null;
}
