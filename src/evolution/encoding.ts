import { roundFloat, variableNames, type Combination } from './combination.js';
import type { Choice, Space, Variable } from './space.js';

/**
 * Every operator and model works in the unit cube: one coordinate u ∈ [0, 1] per
 * variable, in sorted name order. Mapping each variable's own scale onto [0, 1]
 * (log for `log: true`) makes "a small step" mean the same thing for a thread
 * count, a buffer size and a ratio, and lets a Latin hypercube stratify them all.
 *
 * - float: linear or log between min and max.
 * - int: the interval is cut into one bin per integer (on a log scale for `log`),
 *   so every integer owns the same share of the cube (or of its log) and ordinal
 *   closeness is kept: 3 is nearer to 4 than to 9.
 * - categorical and bool: k equal bins, one per choice; their order means nothing,
 *   so models compare them only for equality (`index`).
 */
export type DimKind = 'continuous' | 'integer' | 'categorical';

export interface Dim {
  name: string;
  kind: DimKind;
  /** Distinct values: choices, integers in range, or Infinity for a float with min < max. */
  levels: number;
  toUnit(value: number | string | boolean): number;
  fromUnit(u: number): number | string | boolean;
}

const clamp01 = (u: number) => (u < 0 ? 0 : u > 1 ? 1 : u);
const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);

function floatDim(name: string, min: number, max: number, log: boolean): Dim {
  if (min === max) return { name, kind: 'continuous', levels: 1, toUnit: () => 0.5, fromUnit: () => min };
  const lo = log ? Math.log(min) : min;
  const hi = log ? Math.log(max) : max;
  return {
    name,
    kind: 'continuous',
    levels: Infinity,
    toUnit: (x) => clamp01(((log ? Math.log(x as number) : (x as number)) - lo) / (hi - lo)),
    fromUnit: (u) => {
      const t = lo + clamp01(u) * (hi - lo);
      return clamp(roundFloat(log ? Math.exp(t) : t), min, max);
    },
  };
}

function intDim(name: string, min: number, max: number, log: boolean): Dim {
  const levels = max - min + 1;
  if (!log) {
    return {
      name,
      kind: 'integer',
      levels,
      toUnit: (x) => ((x as number) - min + 0.5) / levels,
      fromUnit: (u) => Math.min(max, min + Math.floor(clamp01(u) * levels)),
    };
  }
  // Bins [x − ½, x + ½] measured in log space: min > 0, so min − ½ ≥ ½ > 0.
  const lo = Math.log(min - 0.5);
  const hi = Math.log(max + 0.5);
  return {
    name,
    kind: 'integer',
    levels,
    toUnit: (x) => {
      const v = x as number;
      return clamp01((0.5 * (Math.log(v - 0.5) + Math.log(v + 0.5)) - lo) / (hi - lo));
    },
    fromUnit: (u) => clamp(Math.round(Math.exp(lo + clamp01(u) * (hi - lo))), min, max),
  };
}

function choiceDim(name: string, choices: readonly Choice[]): Dim {
  const k = choices.length;
  return {
    name,
    kind: 'categorical',
    levels: k,
    toUnit: (x) => (Math.max(0, choices.indexOf(x)) + 0.5) / k,
    fromUnit: (u) => choices[Math.min(k - 1, Math.floor(clamp01(u) * k))]!,
  };
}

const BOOL_CHOICES: readonly Choice[] = [false, true];

function dimFor(name: string, v: Variable): Dim {
  switch (v.type) {
    case 'float':
      return floatDim(name, v.min, v.max, v.log ?? false);
    case 'int':
      return intDim(name, v.min, v.max, v.log ?? false);
    case 'categorical':
      return choiceDim(name, v.choices);
    case 'bool':
      return choiceDim(name, BOOL_CHOICES);
  }
}

const dimsCache = new WeakMap<Space, readonly Dim[]>();

/** The space's dimensions in canonical order (cached per space object). */
export function dimsOf(space: Space): readonly Dim[] {
  let dims = dimsCache.get(space);
  if (!dims) dimsCache.set(space, (dims = variableNames(space).map((n) => dimFor(n, space.variables[n]!))));
  return dims;
}

/** The unit-cube point of a valid combination (the centre of its bin for ints and choices). */
export function encode(space: Space, c: Combination): number[] {
  return dimsOf(space).map((d) => d.toUnit(c[d.name]!));
}

/** The combination at a unit-cube point; always within types and bounds. */
export function decode(space: Space, u: readonly number[]): Combination {
  const c: Combination = {};
  dimsOf(space).forEach((d, i) => (c[d.name] = d.fromUnit(u[i] ?? 0.5)));
  return c;
}

/** The bin of a categorical coordinate: which choice it stands for. */
export const choiceIndex = (u: number, levels: number): number => Math.min(levels - 1, Math.floor(clamp01(u) * levels));

/** How many distinct combinations the space holds (Infinity with any real-valued float). */
export function cardinality(space: Space): number {
  return dimsOf(space).reduce((n, d) => n * d.levels, 1);
}
