/**
 * Compiles landscapes.ts, with bench/functions.ts inlined, into one plain JS
 * module for evaluator.mjs. The evaluator is started once per test (about
 * 15,000 times per optimizer in a full run), so its start-up is the benchmark's
 * main cost. Per start, measured on the 2-core bench machine while other work
 * loaded it (load average 4–5), so only the ratios carry over:
 *
 *   node -e 0                                     ~ 80–120 ms
 *   this bundle (8 KB)                            the same
 *   bundle with zod (the real parseSpace)         ~ 190–220 ms
 *   node --import tsx on bench/functions.ts       ~ 900–1450 ms
 *
 * esbuild is the compiler tsx itself runs on, so it is present wherever the
 * benchmarks run.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/**
 * bench/functions.ts calls `parseSpace` only to validate its own spaces, and
 * that would bring zod into every evaluator start. The bundle takes each space
 * as written; the bench checks that the bundle describes exactly the spaces the
 * real parseSpace returns (index.ts, `checkBundle`), so nothing is lost.
 */
const spacesAsWritten: Plugin = {
  name: 'spaces-as-written',
  setup(b) {
    b.onResolve({ filter: /\/src\/evolution\/index\.js$/ }, () => ({ path: 'evolution', namespace: 'spaces-as-written' }));
    b.onLoad({ filter: /.*/, namespace: 'spaces-as-written' }, () => ({
      contents: 'export const parseSpace = (space) => space;',
      loader: 'js',
    }));
  },
};

/** Writes the bundle into a new temporary directory and returns its path. */
export async function bundleLandscapes(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'orchestra-optimizer-bench-'));
  const outfile = join(dir, 'landscapes.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./landscapes.ts', import.meta.url))],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    plugins: [spacesAsWritten],
    logLevel: 'warning',
  });
  return outfile;
}
