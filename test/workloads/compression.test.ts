import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createRng, ManualClock, systemClock, type Variables } from '../../src/protocol/index.js';
import {
  COMPRESSION_SPACE,
  DEFAULT_COMPRESSION_DIR,
  compress,
  compressionEvaluator,
  compressionSettings,
  readCompressionSample,
} from '../../src/workloads/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-compress-'));
const folder = path.join(root, 'project');
const open = () => new AbortController().signal;

const WORDS = 'const let function return await async export import from value settings sample buffer length if else for of new throw error'.split(' ');

/** Source-like text: repetitive enough to compress, varied enough that settings matter. */
function text(seed: number, lines: number): string {
  const rng = createRng(seed);
  const pick = () => WORDS[Math.floor(rng.next() * WORDS.length)]!;
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const indent = '  '.repeat(Math.floor(rng.next() * 4));
    out.push(`${indent}${pick()} ${pick()}_${Math.floor(rng.next() * 50)} = ${pick()}(${pick()}, ${Math.floor(rng.next() * 1000)});`);
  }
  return out.join('\n') + '\n';
}

beforeAll(() => {
  fs.mkdirSync(path.join(folder, 'lib', 'deep'), { recursive: true });
  fs.mkdirSync(path.join(folder, '.git'));
  fs.writeFileSync(path.join(folder, 'a.ts'), text(1, 1500));
  fs.writeFileSync(path.join(folder, 'b.md'), text(2, 1000));
  fs.writeFileSync(path.join(folder, 'lib', 'c.ts'), text(3, 1500));
  fs.writeFileSync(path.join(folder, 'lib', 'deep', 'd.ts'), text(4, 500));
  fs.writeFileSync(path.join(folder, '.git', 'pack'), 'HIDDEN');
  fs.writeFileSync(path.join(folder, '.env'), 'HIDDEN');
  fs.writeFileSync(path.join(folder, 'empty.txt'), '');
  fs.writeFileSync(path.join(folder, 'huge.bin'), Buffer.alloc(1024 * 1024 + 1, 'H'));
  fs.symlinkSync(path.join(folder, 'a.ts'), path.join(folder, 'link.ts'));
  fs.mkdirSync(path.join(root, 'empty'));
  fs.writeFileSync(path.join(root, 'file.txt'), 'not a folder');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Sorted names, folder by folder: the order the sample is read in. */
const ORDER = ['a.ts', 'b.md', 'lib/c.ts', 'lib/deep/d.ts'];
const gzip = (level: number): Variables => ({ ...maxSettings, algorithm: 'gzip', level });
const maxSettings: Variables = {
  algorithm: 'gzip',
  level: 9,
  windowBits: 15,
  memLevel: 9,
  strategy: 'default',
  brotliQuality: 5,
  brotliWindow: 22,
  brotliMode: 'text',
};

describe('readCompressionSample', () => {
  it('reads regular files in a stable order, skipping hidden, empty, linked and oversized ones', async () => {
    const sample = await readCompressionSample(folder);
    const expected = ORDER.map((f) => fs.readFileSync(path.join(folder, f)));
    expect(sample.files).toBe(4);
    expect(sample.data.equals(Buffer.concat(expected))).toBe(true);
    expect(sample.data.includes('HIDDEN')).toBe(false);
  });

  it('stops at the byte cap, cutting the last file', async () => {
    const sample = await readCompressionSample(folder, { maxBytes: 100_000 });
    expect(sample.data.length).toBe(100_000);
    const all = Buffer.concat(ORDER.map((f) => fs.readFileSync(path.join(folder, f))));
    expect(all.length).toBeGreaterThan(100_000);
    expect(sample.data.equals(all.subarray(0, 100_000))).toBe(true);
    expect(sample.files).toBeLessThan(ORDER.length);
  });

  it('stops at the file cap', async () => {
    expect((await readCompressionSample(folder, { maxFiles: 2 })).files).toBe(2);
  });

  it('refuses a folder it cannot read, one that is a file, and one with nothing to compress', async () => {
    await expect(readCompressionSample(path.join(root, 'missing'))).rejects.toMatchObject({
      code: 'ORC_WORKLOAD_CORPUS_UNREADABLE',
      message: `cannot read the folder to compress ${path.join(root, 'missing')}: ENOENT`,
    });
    await expect(readCompressionSample(path.join(root, 'file.txt'))).rejects.toThrow(/is not a folder/);
    await expect(readCompressionSample(path.join(root, 'empty'))).rejects.toThrow(/holds no file between 1 byte and 1048576 bytes/);
  });
});

describe('compressionSettings', () => {
  it('takes the variables that apply to the algorithm and ignores the others', () => {
    expect(compressionSettings({ ...maxSettings, algorithm: 'deflate' })).toEqual({
      algorithm: 'deflate',
      level: 9,
      windowBits: 15,
      memLevel: 9,
      strategy: 'default',
    });
    expect(compressionSettings({ ...maxSettings, algorithm: 'brotli', level: 'ignored' })).toEqual({
      algorithm: 'brotli',
      quality: 5,
      window: 22,
      mode: 'text',
    });
  });

  it('uses the library defaults for absent settings', () => {
    expect(compressionSettings({ algorithm: 'gzip' })).toEqual({ algorithm: 'gzip', level: 6, windowBits: 15, memLevel: 8, strategy: 'default' });
    expect(compressionSettings({ algorithm: 'brotli' })).toEqual({ algorithm: 'brotli', quality: 11, window: 22, mode: 'generic' });
  });

  it('names a setting outside the space', () => {
    expect(() => compressionSettings({ algorithm: 'gzip', level: 12 })).toThrow('level must be an integer in 1..9, got 12');
    expect(() => compressionSettings({ algorithm: 'gzip', level: 2.5 })).toThrow('level must be an integer in 1..9, got 2.5');
    expect(() => compressionSettings({ algorithm: 'zstd' })).toThrow('algorithm must be one of gzip, deflate, brotli, got "zstd"');
    expect(() => compressionSettings({})).toThrow('algorithm must be one of gzip, deflate, brotli, got undefined');
    expect(() => compressionSettings({ algorithm: 'gzip', strategy: 'fast' })).toThrow(/strategy must be one of default, filtered/);
  });
});

describe('compress', () => {
  it.each([
    ['gzip', (b: Buffer) => zlib.gunzipSync(b)],
    ['deflate', (b: Buffer) => zlib.inflateSync(b)],
    ['brotli', (b: Buffer) => zlib.brotliDecompressSync(b)],
  ] as const)('produces %s output that decompresses to the input', async (algorithm, decompress) => {
    const { data } = await readCompressionSample(folder);
    const out = await compress(data, compressionSettings({ ...maxSettings, algorithm }));
    expect(out.length).toBeLessThan(data.length / 2);
    expect(decompress(out).equals(data)).toBe(true);
  });

  it('accepts every corner of the space', async () => {
    const { data } = await readCompressionSample(folder, { maxBytes: 50_000 });
    const { variables: v } = COMPRESSION_SPACE;
    for (const strategy of v.strategy.choices) {
      for (const algorithm of ['gzip', 'deflate'] as const) {
        for (const [level, windowBits, memLevel] of [[v.level.min, v.windowBits.min, v.memLevel.min], [v.level.max, v.windowBits.max, v.memLevel.max]]) {
          const out = await compress(data, compressionSettings({ algorithm, level: level!, windowBits: windowBits!, memLevel: memLevel!, strategy }));
          expect((algorithm === 'gzip' ? zlib.gunzipSync(out) : zlib.inflateSync(out)).equals(data)).toBe(true);
        }
      }
    }
    for (const brotliMode of v.brotliMode.choices) {
      for (const [brotliQuality, brotliWindow] of [[v.brotliQuality.min, v.brotliWindow.min], [v.brotliQuality.max, v.brotliWindow.max]]) {
        const out = await compress(data, compressionSettings({ algorithm: 'brotli', brotliQuality: brotliQuality!, brotliWindow: brotliWindow!, brotliMode }));
        expect(zlib.brotliDecompressSync(out).equals(data)).toBe(true);
      }
    }
  });
});

describe('compressionEvaluator', () => {
  it('is a space to minimize its value over', () => {
    expect(COMPRESSION_SPACE.objective).toEqual({ metric: 'value', direction: 'minimize' });
  });

  it('scores compressed size against throughput, with the metrics behind the score', async () => {
    const evaluate = compressionEvaluator({ folder, clock: systemClock, weight: 0.1 });
    const evaluation = await evaluate({ variables: gzip(6), trial: 0 }, open());
    const { data } = await readCompressionSample(folder);
    const { ratio, mbPerSecond, compressedBytes, inputBytes } = evaluation.metrics;
    expect(evaluation).toMatchObject({ success: true, reason: null });
    expect(inputBytes).toBe(data.length);
    expect(compressedBytes).toBe(zlib.gzipSync(data, { level: 6, memLevel: 9 }).length);
    expect(ratio).toBeCloseTo(compressedBytes! / inputBytes!, 12);
    expect(mbPerSecond).toBeGreaterThan(0);
    expect(Number.isFinite(mbPerSecond)).toBe(true);
    expect(evaluation.value).toBeCloseTo(ratio! + 0.1 / mbPerSecond!, 12);
    expect(evaluation.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('compresses smaller at level 9 than at level 1', async () => {
    const evaluate = compressionEvaluator({ folder, clock: systemClock });
    const fast = await evaluate({ variables: gzip(1), trial: 0 }, open());
    const best = await evaluate({ variables: gzip(9), trial: 1 }, open());
    expect(best.metrics['compressedBytes']).toBeLessThan(fast.metrics['compressedBytes']!);
  });

  it('scores on size alone with weight 0', async () => {
    const evaluation = await compressionEvaluator({ folder, clock: systemClock, weight: 0 })({ variables: { algorithm: 'brotli', brotliQuality: 4 }, trial: 0 }, open());
    expect(evaluation.value).toBe(evaluation.metrics['ratio']);
  });

  it('samples at most maxBytes', async () => {
    const evaluation = await compressionEvaluator({ folder, clock: systemClock, maxBytes: 10_000 })({ variables: gzip(6), trial: 0 }, open());
    expect(evaluation.metrics['inputBytes']).toBe(10_000);
  });

  it('keeps throughput finite on a clock that does not move', async () => {
    const evaluation = await compressionEvaluator({ folder, clock: new ManualClock(), maxBytes: 10_000 })({ variables: gzip(1), trial: 0 }, open());
    expect(evaluation.success).toBe(true);
    expect(Number.isFinite(evaluation.metrics['mbPerSecond'])).toBe(true);
    expect(evaluation.durationMs).toBe(0);
  });

  it('defaults to the project’s own source folder', async () => {
    expect(fs.existsSync(path.join(DEFAULT_COMPRESSION_DIR, 'workloads', 'compression.ts'))).toBe(true);
    const evaluation = await compressionEvaluator({ clock: systemClock, maxBytes: 100_000 })({ variables: gzip(1), trial: 0 }, open());
    expect(evaluation).toMatchObject({ success: true, metrics: { inputBytes: 100_000 } });
  });

  it('fails an evaluation of a folder it cannot read, and reads it once it can', async () => {
    const later = path.join(root, 'later');
    const evaluate = compressionEvaluator({ folder: later, clock: systemClock });
    expect(await evaluate({ variables: gzip(6), trial: 0 }, open())).toMatchObject({
      success: false,
      value: null,
      reason: `cannot read the folder to compress ${later}: ENOENT`,
    });
    fs.mkdirSync(later);
    fs.writeFileSync(path.join(later, 'x.txt'), text(9, 200));
    expect(await evaluate({ variables: gzip(6), trial: 1 }, open())).toMatchObject({ success: true });
  });

  it('fails an evaluation of settings outside the space, naming the setting', async () => {
    const evaluation = await compressionEvaluator({ folder, clock: systemClock })({ variables: gzip(12), trial: 0 }, open());
    expect(evaluation).toMatchObject({ success: false, value: null, reason: 'level must be an integer in 1..9, got 12' });
  });

  it('rejects with the reason when aborted, before or during the compression', async () => {
    const evaluate = compressionEvaluator({ folder, clock: systemClock });
    const before = new AbortController();
    before.abort(new Error('too late'));
    await expect(evaluate({ variables: gzip(6), trial: 0 }, before.signal)).rejects.toThrow('too late');
    const during = new AbortController();
    const running = evaluate({ variables: { algorithm: 'brotli', brotliQuality: 11, brotliWindow: 24 }, trial: 1 }, during.signal);
    const reason = new Error('stopped');
    during.abort(reason);
    await expect(running).rejects.toBe(reason);
  });

  it('refuses a negative weight', () => {
    expect(() => compressionEvaluator({ clock: systemClock, weight: -1 })).toThrow(expect.objectContaining({ code: 'ORC_CONFIG_INVALID' }));
  });
});
