import type { Rng } from '../protocol/index.js';

/** Draws built on the seeded `Rng`: the part never touches Math.random. */

export const randInt = (rng: Rng, n: number): number => Math.min(n - 1, Math.floor(rng.next() * n));

/** A standard normal draw (Box–Muller; 1 − next() keeps the log finite). */
export function gaussian(rng: Rng): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Fisher–Yates, in place. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** u + σ·N(0,1) folded back into [0, 1] (reflection keeps the density near a bound instead of piling it on the bound). */
export function reflect01(x: number): number {
  let y = x;
  for (let i = 0; i < 8 && (y < 0 || y > 1); i++) y = y < 0 ? -y : 2 - y;
  return y < 0 ? 0 : y > 1 ? 1 : y;
}
