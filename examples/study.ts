/**
 * A study of a TypeScript function, from code: the optimizer's pure functions
 * propose each generation of combinations, the program evaluates them itself,
 * and `recommend` names the best. No database, bus or subprocess; the same
 * seed gives the same result.
 *
 *   node --import tsx examples/study.ts
 */
import { combinationKey, parseSpace, proposeGeneration, recommend, type Combination, type Observation } from 'orchestra-runtime/evolution';
import { createRng } from 'orchestra-runtime/protocol';

const space = parseSpace({
  name: 'cache-tuning',
  objective: { metric: 'latency', direction: 'minimize' },
  variables: {
    sizeMb: { type: 'int', min: 16, max: 4096, log: true },
    ttlSeconds: { type: 'float', min: 1, max: 600 },
    policy: { type: 'categorical', choices: ['lru', 'lfu', 'fifo'] },
  },
});

/** The function under study: a made-up latency with its minimum near 512 MB, 120 s, lfu. */
function latency(c: Combination): number {
  const size = Math.log2(Number(c.sizeMb) / 512) ** 2;
  const ttl = ((Number(c.ttlSeconds) - 120) / 120) ** 2;
  const policy = { lru: 0.3, lfu: 0, fifo: 1 }[c.policy as 'lru' | 'lfu' | 'fifo'];
  return 10 + size + ttl + policy;
}

const rng = createRng(7);
const observations: Observation[] = [];
const budget = 120;
for (let generation = 0; observations.length < budget; generation++) {
  const proposals = proposeGeneration(space, observations, {
    size: Math.min(12, budget - observations.length),
    generation,
    rng,
    exclude: new Set(observations.map((o) => o.key)),
  });
  if (proposals.length === 0) break;
  for (const combination of proposals) {
    const value = latency(combination);
    observations.push({ key: combinationKey(space, combination), combination, success: true, value, generation, trial: observations.length });
  }
}

const best = recommend(space, observations)!;
console.log(`${observations.length} evaluations`);
console.log(`best: ${JSON.stringify(best.combination)}`);
console.log(`latency: ${best.mean!.toFixed(3)} (the minimum is 10)`);
