import { randomBytes } from 'node:crypto';

/** A seeded random source: the only randomness Orchestra's logic uses. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
}

/** sfc32: small, fast, and good enough statistically for jitter and search. */
export function createRng(seed: number): Rng {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const step = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) step();
  return { next: step };
}

/** A seed from the operating system, for when the user gave none. */
export function randomSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}
