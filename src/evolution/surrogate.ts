import { choiceIndex, type Dim } from './encoding.js';

/**
 * A cubic radial-basis-function surrogate with a linear tail (as in Regis &
 * Shoemaker's stochastic RBF method): cheap to fit on a few hundred points, no
 * hyperparameters to tune, and good at ranking many candidates by predicted value
 * on smooth and rugged landscapes alike.
 *
 *   s(x) = Σ λ_i ‖x − x_i‖³ + cᵀ[tail columns of x, 1]
 *
 * Features: ordered dimensions keep their unit-cube coordinate; each categorical
 * or bool becomes a one-hot block scaled by 1/√2, so a different choice is as far
 * as opposite ends of an ordered dimension. The tail is described at tailColumns.
 */
export interface Surrogate {
  predict(x: readonly number[]): number;
}

const ONE_HOT_SCALE = Math.SQRT1_2;

/** The feature vector of a unit-cube point (see above): ordered coordinates first, then one-hot blocks. */
export function features(dims: readonly Dim[], u: readonly number[]): number[] {
  const f: number[] = [];
  dims.forEach((d, j) => {
    if (d.kind !== 'categorical' && d.levels > 1) f.push(u[j]!);
  });
  dims.forEach((d, j) => {
    if (d.kind !== 'categorical') return;
    const k = choiceIndex(u[j]!, d.levels);
    for (let c = 0; c < d.levels; c++) f.push(c === k ? ONE_HOT_SCALE : 0);
  });
  return f;
}

/**
 * The feature columns of the linear tail: every ordered coordinate, and each
 * categorical's one-hot columns but its first (all k would be collinear with the
 * constant), so the tail learns main effects ("zstd is better") and the radial
 * part the interactions.
 */
export function tailColumns(dims: readonly Dim[]): number[] {
  const cols: number[] = [];
  let at = 0;
  for (const d of dims) if (d.kind !== 'categorical' && d.levels > 1) cols.push(at++);
  for (const d of dims) {
    if (d.kind !== 'categorical') continue;
    for (let c = 1; c < d.levels; c++) cols.push(at + c);
    at += d.levels;
  }
  return cols;
}

export function distance(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/** Solves A x = b in place by Gaussian elimination with partial pivoting; null when singular. */
export function solve(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    if (Math.abs(a[pivot]![col]!) < 1e-12) return null;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    [b[col], b[pivot]] = [b[pivot]!, b[col]!];
    const rowCol = a[col]!;
    for (let r = col + 1; r < n; r++) {
      const row = a[r]!;
      const factor = row[col]! / rowCol[col]!;
      if (factor === 0) continue;
      for (let c = col; c < n; c++) row[c]! -= factor * rowCol[c]!;
      b[r]! -= factor * b[col]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    const row = a[r]!;
    for (let c = r + 1; c < n; c++) s -= row[c]! * x[c]!;
    x[r] = s / row[r]!;
  }
  return x;
}

/**
 * Fits the surrogate to feature vectors `xs` and values `ys` (lower is better).
 * `ridge` (per point) smooths instead of interpolating: with noisy values an exact
 * interpolant oscillates between neighbours. A tail that makes the system singular
 * (columns collinear over these points) is dropped for a constant. Returns null
 * when even that fails; callers then rank candidates without a value model.
 */
export function fitRbf(xs: readonly number[][], ys: readonly number[], columns: readonly number[], ridge: readonly number[]): Surrogate | null {
  const n = xs.length;
  if (n === 0) return null;
  // A column that does not vary over the points (a choice never or always seen) is
  // collinear with the constant: leave it out, or the system is singular.
  const varying = columns.filter((c) => xs.some((x) => x[c] !== xs[0]![c]));
  return fitWithTail(xs, ys, varying, ridge) ?? fitWithTail(xs, ys, [], ridge);
}

function fitWithTail(xs: readonly number[][], ys: readonly number[], columns: readonly number[], ridge: readonly number[]): Surrogate | null {
  const n = xs.length;
  // The linear tail needs more points than it has coefficients; otherwise a constant.
  const tail = n > columns.length + 1 ? columns.length + 1 : 1;
  const size = n + tail;
  const a = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  const tailRow = (x: readonly number[]) => (tail === 1 ? [1] : [...columns.map((c) => x[c]!), 1]);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = distance(xs[i]!, xs[j]!) ** 3;
      a[i]![j] = v;
      a[j]![i] = v;
    }
    a[i]![i]! += ridge[i]!;
    const p = tailRow(xs[i]!);
    for (let k = 0; k < tail; k++) {
      a[i]![n + k] = p[k]!;
      a[n + k]![i] = p[k]!;
    }
  }
  const b = [...ys, ...new Array<number>(tail).fill(0)];
  const coef = solve(a, b);
  if (!coef || coef.some((c) => !Number.isFinite(c))) return null;
  return {
    predict(x) {
      let s = 0;
      for (let i = 0; i < n; i++) s += coef[i]! * distance(x, xs[i]!) ** 3;
      const p = tailRow(x);
      for (let k = 0; k < tail; k++) s += coef[n + k]! * p[k]!;
      return s;
    },
  };
}
