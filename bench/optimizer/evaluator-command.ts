/**
 * The evaluator program as the optimizers see it: the shell command that runs
 * evaluator.mjs on one landscape, and the check that the bundle it loads
 * answers exactly as bench/functions.ts does.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRng, type Rng } from '../../src/protocol/index.js';
import type { Combination, Space } from '../../src/evolution/index.js';
import * as source from './landscapes.js';
import type { LandscapeRequest } from './landscapes.js';

export interface Evaluator {
  /** evaluator.mjs. */
  script: string;
  /** The bundle bundle.ts wrote. */
  landscapes: string;
}

export const EVALUATOR_SCRIPT = fileURLToPath(new URL('./evaluator.mjs', import.meta.url));

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The command without the landscape: what optuna_compare.py receives and completes itself. */
export const evaluatorBase = (e: Evaluator) => `node ${quote(e.script)} --landscapes ${quote(e.landscapes)}`;

export function evaluatorCommand(e: Evaluator, request: LandscapeRequest, countFile?: string): string {
  const command = `${evaluatorBase(e)} --function ${quote(request.name)} --budget ${request.budget} --seed ${request.seed}`;
  return countFile === undefined ? command : `${command} --count ${quote(countFile)}`;
}

function uniform(space: Space, rng: Rng): Combination {
  const c: Combination = {};
  for (const [name, v] of Object.entries(space.variables)) {
    const u = rng.next();
    if (v.type === 'bool') c[name] = u < 0.5;
    else if (v.type === 'categorical') c[name] = v.choices[Math.floor(u * v.choices.length)]!;
    else {
      const x = v.log ? Math.exp(Math.log(v.min) + u * Math.log(v.max / v.min)) : v.min + u * (v.max - v.min);
      c[name] = v.type === 'int' ? Math.min(v.max, Math.max(v.min, Math.round(x))) : x;
    }
  }
  return c;
}

/**
 * The bundle leaves zod's parseSpace out (bundle.ts); this proves it changed
 * nothing: for every landscape and budget, the same description, and the same
 * evaluation and judgement for `samples` random combinations at random trials,
 * as landscapes.ts running on the real bench/functions.ts.
 */
export async function checkBundle(landscapes: string, budgets: readonly number[], samples = 300): Promise<void> {
  const bundle = (await import(pathToFileURL(landscapes).href)) as typeof source;
  const rng = createRng(20_250_101);
  for (const budget of budgets) {
    for (const name of source.names(budget)) {
      const request = { name, budget, seed: 1 + Math.floor(rng.next() * 1000) };
      const want = source.describe(request);
      const got = bundle.describe(request);
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`bundle describes ${name} differently: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
      for (let i = 0; i < samples; i++) {
        const c = uniform(want.space, rng);
        const trial = Math.floor(rng.next() * budget);
        const [a, b] = [bundle.evaluate(request, c, trial), source.evaluate(request, c, trial)];
        const [x, y] = [bundle.judge(request, c), source.judge(request, c)];
        if (a.success !== b.success || a.value !== b.value || x.value !== y.value || x.regret !== y.regret) {
          throw new Error(`bundle and bench/functions.ts disagree on ${name} at trial ${trial} for ${JSON.stringify(c)}`);
        }
      }
    }
  }
}
