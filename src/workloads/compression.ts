import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { OrchestraError, type Clock, type Variables } from '../protocol/index.js';
import { readCompressionSample, type CompressionSample } from './compression-sample.js';
import { failedEvaluation, type Evaluation, type Evaluator, type ParsedEvaluation, type SpaceLike } from './evaluation.js';

/**
 * A real workload to tune on one's own machine: zlib (gzip, deflate) and
 * brotli settings on a folder of the user's files, scored on compressed size
 * against speed.
 */

/**
 * The top folder of the code this module was loaded from: `src/` when run
 * from source (tsx, vitest) and `dist/` in the build, which is published
 * without `src/`. This file sits one folder below it in both.
 */
export const DEFAULT_COMPRESSION_DIR = fileURLToPath(new URL('..', import.meta.url));

const ALGORITHMS = ['gzip', 'deflate', 'brotli'] as const;
const STRATEGIES = ['default', 'filtered', 'huffman_only', 'rle', 'fixed'] as const;
const BROTLI_MODES = ['generic', 'text'] as const;

/**
 * Variables that do not apply to the chosen algorithm are ignored: `level`,
 * `windowBits`, `memLevel` and `strategy` for gzip and deflate, the `brotli*`
 * ones for brotli.
 */
export const COMPRESSION_SPACE = {
  name: 'compression',
  objective: { metric: 'value', direction: 'minimize' },
  variables: {
    algorithm: { type: 'categorical', choices: [...ALGORITHMS] },
    level: { type: 'int', min: 1, max: 9 },
    windowBits: { type: 'int', min: 9, max: 15 },
    memLevel: { type: 'int', min: 1, max: 9 },
    strategy: { type: 'categorical', choices: [...STRATEGIES] },
    brotliQuality: { type: 'int', min: 0, max: 11 },
    brotliWindow: { type: 'int', min: 10, max: 24 },
    brotliMode: { type: 'categorical', choices: [...BROTLI_MODES] },
  },
} satisfies SpaceLike;

export type CompressionSettings =
  | { algorithm: 'gzip' | 'deflate'; level: number; windowBits: number; memLevel: number; strategy: (typeof STRATEGIES)[number] }
  | { algorithm: 'brotli'; quality: number; window: number; mode: (typeof BROTLI_MODES)[number] };

const STRATEGY_CONSTANTS: Record<(typeof STRATEGIES)[number], number> = {
  default: zlib.constants.Z_DEFAULT_STRATEGY,
  filtered: zlib.constants.Z_FILTERED,
  huffman_only: zlib.constants.Z_HUFFMAN_ONLY,
  rle: zlib.constants.Z_RLE,
  fixed: zlib.constants.Z_FIXED,
};

const invalid = (message: string) => new OrchestraError('ORC_PROTOCOL_INVALID_VALUE', message);

/** An int variable of the space; absent means the library's own default. */
function intVariable(variables: Variables, name: keyof typeof COMPRESSION_SPACE.variables, fallback: number): number {
  const spec = COMPRESSION_SPACE.variables[name] as { min: number; max: number };
  const x = variables[name];
  if (x === undefined) return fallback;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < spec.min || x > spec.max) {
    throw invalid(`${name} must be an integer in ${spec.min}..${spec.max}, got ${JSON.stringify(x)}`);
  }
  return x;
}

function choiceVariable<T extends string>(variables: Variables, name: string, choices: readonly T[], fallback?: T): T {
  const x = variables[name] ?? fallback;
  if (!choices.includes(x as T)) throw invalid(`${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(x)}`);
  return x as T;
}

/**
 * The settings a combination stands for. Only `algorithm` is required; an
 * absent setting takes the library's default. Throws ORC_PROTOCOL_INVALID_VALUE
 * naming a setting that is out of range.
 */
export function compressionSettings(variables: Variables): CompressionSettings {
  const algorithm = choiceVariable(variables, 'algorithm', ALGORITHMS);
  if (algorithm === 'brotli') {
    return {
      algorithm,
      quality: intVariable(variables, 'brotliQuality', zlib.constants.BROTLI_DEFAULT_QUALITY),
      window: intVariable(variables, 'brotliWindow', zlib.constants.BROTLI_DEFAULT_WINDOW),
      mode: choiceVariable(variables, 'brotliMode', BROTLI_MODES, 'generic'),
    };
  }
  return {
    algorithm,
    level: intVariable(variables, 'level', 6),
    windowBits: intVariable(variables, 'windowBits', 15),
    memLevel: intVariable(variables, 'memLevel', 8),
    strategy: choiceVariable(variables, 'strategy', STRATEGIES, 'default'),
  };
}

type Callback = (err: Error | null, result: Buffer) => void;

/**
 * Compresses with the asynchronous API: the work runs on libuv's thread
 * pool, so a slow setting (brotli at quality 11 takes seconds on 4 MiB) does
 * not stall the bot's event loop, its heartbeats and its lease renewals.
 */
export function compress(data: Buffer, settings: CompressionSettings): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done: Callback = (err, result) => (err ? reject(err) : resolve(result));
    if (settings.algorithm === 'brotli') {
      const { constants: c } = zlib;
      const params = {
        [c.BROTLI_PARAM_QUALITY]: settings.quality,
        [c.BROTLI_PARAM_LGWIN]: settings.window,
        [c.BROTLI_PARAM_MODE]: settings.mode === 'text' ? c.BROTLI_MODE_TEXT : c.BROTLI_MODE_GENERIC,
        [c.BROTLI_PARAM_SIZE_HINT]: data.length,
      };
      return zlib.brotliCompress(data, { params }, done);
    }
    const options = { level: settings.level, windowBits: settings.windowBits, memLevel: settings.memLevel, strategy: STRATEGY_CONSTANTS[settings.strategy] };
    if (settings.algorithm === 'gzip') zlib.gzip(data, options, done);
    else zlib.deflate(data, options, done);
  });
}

export interface CompressionEvaluatorOptions {
  /** The folder whose files are compressed. Default DEFAULT_COMPRESSION_DIR. */
  folder?: string;
  /** Bytes sampled at most. Default 4 MiB. */
  maxBytes?: number;
  /** Times the compression; throughput is measured on it. */
  clock: Clock;
  /** Cost of one second per MB, in units of compression ratio. Default DEFAULT_SPEED_WEIGHT. */
  weight?: number;
}

/**
 * value = ratio + weight × seconds per MB, to minimize; ratio is compressed
 * bytes over input bytes.
 *
 * Measured on this repository's src/ (0.4 MB of TypeScript, Node 20, one
 * x86 core): good settings' ratios run from 0.23 (brotli 11) through 0.26
 * (brotli 5) and 0.28 (gzip 6 to 9) to 0.33 (gzip 1), bad ones to 0.64
 * (huffman only); speeds from 0.7 MB/s (brotli 11: 1.5 s/MB) and 1.5 MB/s
 * (brotli 10) through 30-40 MB/s (gzip 6-9, brotli 5-6) to 150+ MB/s
 * (brotli 0-1). At 0.1, the fast settings pay under 0.004, so among them the
 * ratio decides; brotli 10 and 11 pay 0.07 and 0.15 for their 0.02-0.03 gain
 * in ratio, and lose to brotli 6 (0.255 + 0.0035). So a MB/s below about 2
 * costs as much as the whole spread of good ratios: neither term dominates.
 * A larger weight favours speed, a smaller one size.
 */
export const DEFAULT_SPEED_WEIGHT = 0.1;
/**
 * A compression is repeated until it has taken this long on the clock, so a
 * small sample is not timed within the clock's millisecond resolution alone.
 */
const MIN_TIMED_MS = 50;
const MAX_REPEATS = 20;
/** A clock that did not move during the timing counts as having moved this much, so throughput stays finite. */
const CLOCK_RESOLUTION_MS = 1;
const BYTES_PER_MB = 1_000_000;

/** Rejects with the signal's reason on abort; the compression itself runs to its end on the thread pool. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Evaluates compression settings on the files of a folder. The sample is
 * read once, on the first evaluation, and shared by every later one.
 * Throughput is wall time on the clock: evaluations run at once share the
 * thread pool (4 threads by default) and slow each other down, so a bot
 * that compares settings should run them one at a time.
 *
 * A folder that cannot be read (or holds nothing to compress) is a failed
 * evaluation with the reason rather than an error at construction: the
 * evaluator is built where the experiment is configured but runs on bots,
 * whose view of the folder is what counts. A failed read is not kept, so a
 * folder that becomes readable is read by the next evaluation. A caller that
 * wants to refuse a bad folder up front calls `readCompressionSample` first.
 */
export function compressionEvaluator(options: CompressionEvaluatorOptions): Evaluator {
  const { clock } = options;
  const folder = options.folder ?? DEFAULT_COMPRESSION_DIR;
  const weight = options.weight ?? DEFAULT_SPEED_WEIGHT;
  if (!(weight >= 0 && Number.isFinite(weight))) throw new OrchestraError('ORC_CONFIG_INVALID', `compression weight must be a number ≥ 0, got ${weight}`);
  let sample: Promise<CompressionSample> | undefined;
  const load = () =>
    (sample ??= readCompressionSample(folder, { maxBytes: options.maxBytes }).catch((err: unknown) => {
      sample = undefined;
      throw err;
    }));

  return async ({ variables }, signal) => {
    signal.throwIfAborted();
    const startedAt = clock.now();
    const finish = (parsed: ParsedEvaluation): Evaluation => ({ ...parsed, durationMs: Math.max(0, clock.now() - startedAt) });
    try {
      const settings = compressionSettings(variables);
      const { data } = await abortable(load(), signal);
      let compressed: Buffer;
      let repeats = 0;
      const timedFrom = clock.now();
      do {
        compressed = await abortable(compress(data, settings), signal);
        repeats++;
      } while (clock.now() - timedFrom < MIN_TIMED_MS && repeats < MAX_REPEATS);
      const secondsPerRun = Math.max(clock.now() - timedFrom, CLOCK_RESOLUTION_MS) / repeats / 1000;
      const secondsPerMb = secondsPerRun / (data.length / BYTES_PER_MB);
      const ratio = compressed.length / data.length;
      return finish({
        success: true,
        value: ratio + weight * secondsPerMb,
        metrics: { ratio, mbPerSecond: 1 / secondsPerMb, compressedBytes: compressed.length, inputBytes: data.length },
        reason: null,
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      return finish(failedEvaluation((err as Error).message));
    }
  };
}
