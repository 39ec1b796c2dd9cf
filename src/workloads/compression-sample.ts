import { promises as fs } from 'node:fs';
import path from 'node:path';
import { OrchestraError } from '../protocol/index.js';

/** The bytes a compression workload compresses: files of one folder, concatenated. */
export interface CompressionSample {
  folder: string;
  data: Buffer;
  /** Files that contributed bytes (the last one possibly cut at the cap). */
  files: number;
}

export interface CompressionSampleOptions {
  /** Bytes sampled at most; the last file is cut to fit. Default 4 MiB. */
  maxBytes?: number;
  /** Larger files are skipped. Default 1 MiB. */
  maxFileBytes?: number;
  /** Files read at most. Default 2,000. */
  maxFiles?: number;
}

const MIB = 1024 * 1024;
// The sample lives in memory and each evaluation compresses it whole, so a
// folder named by mistake (a home directory) is never read past these bounds.
export const DEFAULT_SAMPLE_BYTES = 1 * MIB;
const DEFAULT_MAX_FILE_BYTES = MIB;
const DEFAULT_MAX_FILES = 2_000;

/** Code-unit order, not the locale's: the same sample on every machine. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const unreadable = (folder: string, err: unknown) =>
  new OrchestraError(
    'ORC_WORKLOAD_CORPUS_UNREADABLE',
    `cannot read the folder to compress ${folder}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    false,
    { cause: err },
  );

/**
 * Reads the sample: regular files under `folder`, folder by folder (breadth
 * first) in sorted name order, until a cap is reached. Hidden entries (.git holds objects that
 * are compressed already) and links (which may leave the folder or loop back
 * into it) are skipped. Throws ORC_WORKLOAD_CORPUS_UNREADABLE when the folder
 * or a file in it cannot be read, or when it holds nothing to compress.
 */
export async function readCompressionSample(folder: string, options: CompressionSampleOptions = {}): Promise<CompressionSample> {
  const maxBytes = options.maxBytes ?? DEFAULT_SAMPLE_BYTES;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
  const root = path.resolve(folder);
  const stat = await fs.stat(root).catch((err: unknown) => {
    throw unreadable(root, err);
  });
  if (!stat.isDirectory()) throw new OrchestraError('ORC_WORKLOAD_CORPUS_UNREADABLE', `the folder to compress ${root} is not a folder`);

  const parts: Buffer[] = [];
  let total = 0;
  const pending = [root];
  while (pending.length > 0 && total < maxBytes && parts.length < maxFiles) {
    const dir = pending.shift()!;
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
      throw unreadable(dir, err);
    });
    const dirs: string[] = [];
    for (const entry of entries.sort((a, b) => compare(a.name, b.name))) {
      if (total >= maxBytes || parts.length >= maxFiles) break;
      if (entry.name.startsWith('.') || entry.isSymbolicLink()) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) dirs.push(full);
      if (!entry.isFile()) continue;
      const size = (await fs.stat(full).catch((err: unknown) => {
        throw unreadable(full, err);
      })).size;
      if (size === 0 || size > maxFileBytes) continue;
      const bytes = await fs.readFile(full).catch((err: unknown) => {
        throw unreadable(full, err);
      });
      const kept = bytes.subarray(0, maxBytes - total);
      parts.push(kept);
      total += kept.length;
    }
    pending.push(...dirs);
  }
  if (total === 0) {
    throw new OrchestraError('ORC_WORKLOAD_CORPUS_UNREADABLE', `the folder to compress ${root} holds no file between 1 byte and ${maxFileBytes} bytes`);
  }
  return { folder: root, data: Buffer.concat(parts, total), files: parts.length };
}
