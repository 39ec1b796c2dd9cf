import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const running = new Set<ChildProcess>();

/**
 * Runs an example as its header says to (`node --import tsx examples/NAME.ts`
 * from the repository), where its import of the package's own name resolves
 * to the sources through tsconfig's paths.
 */
function runExample(name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, path.join('examples', `${name}.ts`)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples', () => {
  afterEach(() => {
    for (const child of running) child.kill('SIGKILL');
  });

  it('custom-agent: a typed request is answered, its event heard, and a failing handler answers with a code', async () => {
    const { code, stdout, stderr } = await runExample('custom-agent');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      'quote: apple × 3 = 1.5',
      'shop heard quote_given: apple 1.5',
      'unknown item: pricing answered quote with ORC_AGENT_HANDLER_FAILED: no price for plum',
    ]);
  });

  it('pipeline: the second task waits for the first and reads its result', async () => {
    const { code, stdout, stderr } = await runExample('pipeline');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      'registered count_words and report (PENDING, waiting for count-1)',
      'count_words: COMPLETED {"words":7}',
      'report: COMPLETED {"line":"sentence: 7 words"}',
    ]);
  });

  it('worker: an in-process handler completes tasks, and a non-retryable error fails its task at once', async () => {
    const { code, stdout, stderr } = await runExample('worker');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      '{"width":1024,"height":768} → COMPLETED {"width":128,"height":96}',
      '{"width":300,"height":600} → COMPLETED {"width":64,"height":128}',
      '{"width":0,"height":10} → FAILED ORC_WORKER_HANDLER_FAILED: cannot scale a 0×10 image',
    ]);
  });

  it('study: the optimizer finds the minimum of a TypeScript function within its budget', async () => {
    const { code, stdout, stderr } = await runExample('study');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('120 evaluations');
    expect(lines[1]).toMatch(/^best: \{"policy":"lfu",/);
    const latency = Number(/^latency: ([\d.]+)/.exec(lines[2] ?? '')?.[1]);
    expect(latency).toBeLessThan(10.05);
  });
});
