import type { Rng } from '../protocol/index.js';
import { keyOf, type Combination } from './combination.js';
import { classSizes } from './classify.js';
import { generateCandidates } from './candidates.js';
import { decode, dimsOf, encode, type Dim } from './encoding.js';
import { fitFailures } from './feasibility.js';
import { fitParzen } from './model.js';
import type { Observation } from './observation.js';
import { fillFresh, initialPopulation } from './population.js';
import { pooledSpread, scoreCombinations, type Scored } from './scorer.js';
import type { Space } from './space.js';
import { distance, features, fitRbf, tailColumns } from './surrogate.js';
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

/**
 * What the surrogate learns, per combination that succeeded, lower is better:
 * the mean in the objective's direction, clipped at the median (so a few awful
 * values do not flatten the good region, as Regis & Shoemaker clip) and scaled
 * so the best is 0 and the median 1. Failures are the failure model's business.
 */
function surrogateTargets(space: Space, scored: readonly Scored[]): { ys: number[]; scale: number } {
  const sign = space.objective.direction === 'minimize' ? 1 : -1;
  const raw = scored.map((s) => sign * s.mean!);
  const sorted = [...raw].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const best = sorted[0]!;
  const scale = median - best || 1;
  return { ys: raw.map((y) => (Math.min(y, median) - best) / scale), scale };
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
 * The generation after `observations`: candidates from the genetic algorithm and
 * its companions (see candidates.ts) ranked by a surrogate of the landscape.
 *
 * 1. Every tested combination is scored (repeated tests averaged, failures below
 *    any success) and ranked. Parents are the elite and significant ones
 *    (classify's top 50 %). Elitism: the elite are always parents, unchanged, and
 *    are never proposed again for evaluation (their keys are taken).
 * 2. A pool of candidates (elite perturbations, offspring by tournament selection,
 *    SBX / uniform crossover and adaptive mutation, draws from a TPE-style good
 *    density, uniform draws) is snapped to combinations; tested ones are dropped.
 * 3. A cubic RBF surrogate (surrogate.ts) predicts each candidate. Slots are filled
 *    greedily by merit = w · predicted + (1 − w) · nearness to everything tested or
 *    already chosen, with w cycling through `meritWeights`: the batch mixes
 *    exploitation and exploration and never piles onto one point. Regions that
 *    failed are predicted bad, so the search learns to avoid them.
 * 4. `explore` lowers w, widens steps and mutation, and sends a share of the slots
 *    to uniform draws. No key is proposed twice, nor any tested or excluded key; a
 *    space with fewer untested combinations than `size` yields what is left.
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
    epsilon: 0.25,
  });
  const { elite, significant } = classSizes(successful.length);
  const parents = successful.slice(0, Math.max(Math.min(2, successful.length), elite + significant)).map((i) => genomes[i]!);

  // The surrogate of the value (successes only), smoothed where repeated tests show
  // noise (less for well-tested means), and the model of where tests fail.
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
  // A failure counts as the worst clipped value (1): expected target = (1 − p)·value + p.
  const predict = (f: number[]) => {
    const p = failures.probability(f);
    return (1 - p) * Math.min(1, predictValue(f)) + p;
  };

  // The pool, snapped to distinct untested combinations.
  const raw = generateCandidates(
    rng,
    { dims, parents, elite, good, sigma: parents.length ? adaptiveSteps(dims, parents, explore) : [], explore },
    Math.max(t.minPool, t.candidatesPerSlot * size),
    t,
  );
  const pool: { c: Combination; key: string; f: number[]; predicted: number; nearest: number }[] = [];
  const inPool = new Set<string>();
  for (const u of raw) {
    const c = decode(space, u);
    const key = keyOf(space, c);
    if (taken.has(key) || inPool.has(key)) continue;
    inPool.add(key);
    const f = features(dims, encode(space, c));
    let nearest = Infinity;
    for (const x of tested) nearest = Math.min(nearest, distance(f, x));
    pool.push({ c, key, f, predicted: predict(f), nearest });
  }
  // Predictions rescaled to [0, 1] over the pool, so w weighs like against like.
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of pool) {
    lo = Math.min(lo, p.predicted);
    hi = Math.max(hi, p.predicted);
  }
  for (const p of pool) p.predicted = (p.predicted - lo) / (hi - lo || 1);

  const out: Combination[] = [];
  const used = new Set<number>();
  for (let slot = 0; slot < size; slot++) {
    if (explore > 0 && rng.next() < 0.5 * explore) {
      const before = out.length;
      fillFresh(space, out, before + 1, taken, rng);
      if (out.length > before) {
        const f = features(dims, encode(space, out[before]!));
        for (const p of pool) p.nearest = Math.min(p.nearest, distance(p.f, f));
        continue;
      }
    }
    let dMin = Infinity;
    let dMax = 0;
    for (let i = 0; i < pool.length; i++) {
      if (used.has(i)) continue;
      // A uniform slot may have drawn a key that is also in the pool.
      if (taken.has(pool[i]!.key)) {
        used.add(i);
        continue;
      }
      dMin = Math.min(dMin, pool[i]!.nearest);
      dMax = Math.max(dMax, pool[i]!.nearest);
    }
    const spanDistance = dMax - dMin || 1;
    const w = t.meritWeights[slot % t.meritWeights.length]! * (1 - 0.7 * explore);
    let pick = -1;
    let pickMerit = Infinity;
    for (let i = 0; i < pool.length; i++) {
      if (used.has(i)) continue;
      const p = pool[i]!;
      const merit = w * p.predicted + (1 - w) * ((dMax - p.nearest) / spanDistance);
      if (merit < pickMerit) [pick, pickMerit] = [i, merit];
    }
    if (pick < 0) break;
    const chosen = pool[pick]!;
    used.add(pick);
    taken.add(chosen.key);
    out.push(chosen.c);
    for (const p of pool) p.nearest = Math.min(p.nearest, distance(p.f, chosen.f));
  }
  return out.length < size ? fillFresh(space, out, size, taken, rng) : out;
}
