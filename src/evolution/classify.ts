import { compareScored, type Scored } from './scorer.js';

export type Classification = 'elite' | 'significant' | 'deprecated';

/**
 * Class sizes for n scored combinations. Both round down, so the classes never
 * hold more than their share, except that a non-empty list always has one elite:
 *   elite       = max(1, ⌊n / 10⌋)
 *   significant = min(n − elite, ⌊4n / 10⌋)
 * e.g. n = 1 → 1/0/0, 2 → 1/0/1, 9 → 1/3/5, 10 → 1/4/5, 11 → 1/4/6, 50 → 5/20/25, 101 → 10/40/51.
 */
export function classSizes(n: number): { elite: number; significant: number; deprecated: number } {
  if (n <= 0) return { elite: 0, significant: 0, deprecated: 0 };
  const elite = Math.max(1, Math.floor(n / 10));
  const significant = Math.min(n - elite, Math.floor((4 * n) / 10));
  return { elite, significant, deprecated: n - elite - significant };
}

/**
 * Top 10 % elite (at least one), next 40 % significant, the rest deprecated, by
 * score order (ties: more tests first, then key, as `scoreCombinations` sorts).
 */
export function classify(scored: readonly Scored[]): Map<string, Classification> {
  const ordered = [...scored].sort(compareScored);
  const { elite, significant } = classSizes(ordered.length);
  const out = new Map<string, Classification>();
  ordered.forEach((s, i) => out.set(s.key, i < elite ? 'elite' : i < elite + significant ? 'significant' : 'deprecated'));
  return out;
}
