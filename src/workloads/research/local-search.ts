import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrchestraError } from '../../protocol/index.js';
import { clipText, type SearchOptions, type SearchProvider, type SearchResult } from './search.js';

/**
 * The `corpus/` folder at the package root. This module sits three folders
 * below the root both as `src/workloads/research/local-search.ts` (tsx,
 * vitest) and as `dist/workloads/research/local-search.js` (the build).
 */
export const DEFAULT_CORPUS_DIR = fileURLToPath(new URL('../../../corpus', import.meta.url));

export interface LocalSearchOptions {
  /** Larger files are skipped. Default 1 MiB. */
  maxFileBytes?: number;
  /** Files indexed at most; the rest of the tree is not read. Default 10,000. */
  maxFiles?: number;
  /** Bytes indexed at most over all files. Default 256 MiB. */
  maxTotalBytes?: number;
}

export interface SkippedFile {
  /** Relative to the corpus folder. */
  source: string;
  reason: string;
}

const MIB = 1024 * 1024;
// The index lives in memory, so a corpus pointed at the wrong folder (a home
// directory, a repository with vendored files) must not be read whole: big
// files are skipped and the walk stops at a file count and a byte total.
const DEFAULT_MAX_FILE_BYTES = MIB;
const DEFAULT_MAX_FILES = 10_000;
const DEFAULT_MAX_TOTAL_BYTES = 256 * MIB;
const EXTENSIONS = new Set(['.md', '.txt']);

// BM25's usual constants: k1 sets how fast repeats of a term stop adding
// weight, b how much a long document is discounted for being long.
const K1 = 1.2;
const B = 0.75;
// Each query term found in a title adds this times its idf: about half what a
// term repeated in the body can reach (k1 + 1), so a title match lifts a
// document among similar ones without outranking one that is about the query.
const TITLE_WEIGHT = 1;
const SNIPPET_CHARS = 240;
/** How much text before the first matching word a clipped snippet keeps. */
const SNIPPET_LEAD_CHARS = 60;

const STOP_WORDS = new Set(
  ('a an and are as at be been being but by can could did do does for from had has have how i if in into is it its ' +
    'may might must my no nor not of on or our so such than that the their them then there these they this those ' +
    'to too was we were what when where which while who why will with would you your').split(' '),
);

/**
 * A light suffix stemmer, not Porter's: enough that plural, -ed and -ing
 * forms meet their base word (leases/lease, claiming/claim, retries/retry),
 * and predictable enough to reason about from a query.
 */
export function stem(word: string): string {
  if (word.length <= 3 || /\p{N}/u.test(word)) return word;
  let w = word;
  if (/[^aeiou]ies$/.test(w)) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (/[^aeiou]ied$/.test(w)) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('ing') && w.length >= 7) w = undouble(w.slice(0, -3));
  else if (w.endsWith('ed') && w.length >= 6) w = undouble(w.slice(0, -2));
  // A final e goes too, so lease, leased and leasing all become "leas".
  if (w.endsWith('e') && w.length > 4) w = w.slice(0, -1);
  return w;
}

/** skipp → skip, runn → run; a doubled l, s or z is usually part of the word (call, miss). */
const undouble = (w: string) => (/([^aeiouylsz])\1$/.test(w) ? w.slice(0, -1) : w);

const WORD = /[\p{L}\p{N}]+/gu;

/** Lower-cased runs of Unicode letters and digits, stop words dropped, stemmed. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const [word] of text.normalize('NFKC').toLowerCase().matchAll(WORD)) {
    if (!STOP_WORDS.has(word)) out.push(stem(word));
  }
  return out;
}

interface Doc {
  source: string;
  title: string;
  /** Tokens in the body, for BM25's length normalisation. */
  length: number;
  /** Sentences and list items, markup removed: the candidates for a snippet. */
  passages: string[];
}

interface Posting {
  doc: number;
  tf: number;
  inTitle: boolean;
}

/**
 * Searches a folder of Markdown and text files in memory, ranked by BM25 with
 * a title boost. The index is built once by `open`; the folder is not watched.
 */
export class LocalSearch implements SearchProvider {
  readonly name = 'local';
  private readonly avgLength: number;

  private constructor(
    readonly folder: string,
    private readonly docs: Doc[],
    private readonly postings: Map<string, Posting[]>,
    /** Files left out of the index, and why. */
    readonly skipped: readonly SkippedFile[],
  ) {
    const total = docs.reduce((sum, doc) => sum + doc.length, 0);
    this.avgLength = docs.length > 0 && total > 0 ? total / docs.length : 1;
  }

  static async open(folder: string, options: LocalSearchOptions = {}): Promise<LocalSearch> {
    const root = path.resolve(folder);
    const { files, skipped } = await collectFiles(root, {
      maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      maxFiles: options.maxFiles ?? DEFAULT_MAX_FILES,
      maxTotalBytes: options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
    });
    const docs: Doc[] = [];
    const postings = new Map<string, Posting[]>();
    for (const file of files) {
      const doc = docs.length;
      const title = titleOf(file.source, file.text);
      const body = tokenize(file.text);
      const counts = new Map<string, number>();
      for (const term of body) counts.set(term, (counts.get(term) ?? 0) + 1);
      const titleTerms = new Set(tokenize(title));
      for (const term of new Set([...counts.keys(), ...titleTerms])) {
        const list = postings.get(term) ?? [];
        list.push({ doc, tf: counts.get(term) ?? 0, inTitle: titleTerms.has(term) });
        postings.set(term, list);
      }
      docs.push({ source: file.source, title, length: body.length, passages: passagesOf(file.text) });
    }
    return new LocalSearch(root, docs, postings, skipped);
  }

  /** Documents in the index. */
  get size(): number {
    return this.docs.length;
  }

  async search(query: string, options: SearchOptions): Promise<SearchResult[]> {
    options.signal?.throwIfAborted();
    const terms = [...new Set(tokenize(query))];
    if (terms.length === 0 || options.limit < 1) return [];
    const scores = new Map<number, number>();
    for (const term of terms) {
      const list = this.postings.get(term);
      if (!list) continue;
      // The "1 +" keeps idf positive for a term found in most documents, so
      // matching a common word never counts against a document.
      const idf = Math.log(1 + (this.docs.length - list.length + 0.5) / (list.length + 0.5));
      for (const { doc, tf, inTitle } of list) {
        const norm = K1 * (1 - B + (B * this.docs[doc]!.length) / this.avgLength);
        const weight = (tf * (K1 + 1)) / (tf + norm) + (inTitle ? TITLE_WEIGHT : 0);
        scores.set(doc, (scores.get(doc) ?? 0) + idf * weight);
      }
    }
    const ranked = [...scores].sort(([a, sa], [b, sb]) => sb - sa || compare(this.docs[a]!.source, this.docs[b]!.source));
    return ranked.slice(0, options.limit).map(([index, score]) => {
      const doc = this.docs[index]!;
      return { title: doc.title, source: doc.source, snippet: snippetOf(doc.passages, new Set(terms)), score: Math.round(score * 1e4) / 1e4 };
    });
  }
}

/** Code-unit order, not the locale's: the same on every machine. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface Limits {
  maxFileBytes: number;
  maxFiles: number;
  maxTotalBytes: number;
}

const unreadable = (folder: string, err: unknown) =>
  new OrchestraError('ORC_WORKLOAD_CORPUS_UNREADABLE', `cannot read the corpus folder ${folder}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, false, {
    cause: err,
  });

/** The indexable files under `root`, in a stable order (sorted names, depth first). */
async function collectFiles(root: string, limits: Limits): Promise<{ files: { source: string; text: string }[]; skipped: SkippedFile[] }> {
  const stat = await fs.stat(root).catch((err: unknown) => {
    throw unreadable(root, err);
  });
  if (!stat.isDirectory()) throw new OrchestraError('ORC_WORKLOAD_CORPUS_UNREADABLE', `the corpus ${root} is not a folder`);
  const files: { source: string; text: string }[] = [];
  const skipped: SkippedFile[] = [];
  let totalBytes = 0;
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.shift()!;
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
      throw unreadable(dir, err);
    });
    const dirs: string[] = [];
    for (const entry of entries.sort((a, b) => compare(a.name, b.name))) {
      // Hidden entries are tool state (.git, .obsidian), not documents; links
      // are not followed, since one may leave the folder or loop back into it.
      if (entry.name.startsWith('.') || entry.isSymbolicLink()) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        dirs.push(full);
        continue;
      }
      if (!entry.isFile() || !EXTENSIONS.has(path.extname(entry.name).toLowerCase())) continue;
      const source = path.relative(root, full).split(path.sep).join('/');
      if (files.length >= limits.maxFiles || totalBytes >= limits.maxTotalBytes) {
        skipped.push({ source, reason: `the index holds as much as it may (${limits.maxFiles} files, ${limits.maxTotalBytes} bytes); the rest is not read` });
        return { files, skipped };
      }
      try {
        const { size } = await fs.stat(full);
        if (size > limits.maxFileBytes) {
          skipped.push({ source, reason: `larger than ${limits.maxFileBytes} bytes` });
          continue;
        }
        files.push({ source, text: await fs.readFile(full, 'utf8') });
        totalBytes += size;
      } catch (err) {
        // One unreadable file should not hide the rest of the corpus.
        skipped.push({ source, reason: `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      }
    }
    pending.unshift(...dirs);
  }
  return { files, skipped };
}

/** The first `# heading` of a Markdown file, else the file name without its extension. */
function titleOf(source: string, text: string): string {
  if (source.toLowerCase().endsWith('.md')) {
    const heading = /^#[ \t]+(.+?)[ \t#]*$/m.exec(text)?.[1];
    if (heading) return plain(heading);
  }
  return path.posix.basename(source).replace(/\.[^.]+$/, '');
}

/** Markdown inline markup removed: links keep their text, emphasis and code marks go. */
const plain = (text: string) =>
  text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_`]+/g, '')
    .replace(/\s+/g, ' ')
    .trim();

/**
 * Sentences and list items of prose: headings and fenced code are left out,
 * since neither reads well as a quotation.
 */
function passagesOf(text: string): string[] {
  const blocks: string[] = [];
  let current: string[] = [];
  let inFence = false;
  const flush = () => {
    if (current.length > 0) blocks.push(plain(current.join(' ')));
    current = [];
  };
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) {
      flush();
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const item = /^\s*(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (line.trim() === '' || /^\s*#/.test(line) || item) flush();
    if (item) current.push(item[1]!);
    else if (line.trim() !== '' && !/^\s*#/.test(line)) current.push(line.replace(/^\s*>\s?/, ''));
  }
  flush();
  return blocks.flatMap((block) => block.split(/(?<=[.!?])\s+/)).filter((passage) => passage !== '');
}

/**
 * The passage holding the most distinct query terms (the first on a tie),
 * clipped to about `SNIPPET_CHARS` around its first matching word.
 */
function snippetOf(passages: string[], terms: Set<string>): string {
  let best = passages[0] ?? '';
  let bestHits = 0;
  for (const passage of passages) {
    const hits = new Set(tokenize(passage).filter((term) => terms.has(term))).size;
    if (hits > bestHits) [best, bestHits] = [passage, hits];
  }
  if (best.length <= SNIPPET_CHARS) return best;
  let start = 0;
  for (const match of best.matchAll(WORD)) {
    if (!terms.has(tokenize(match[0])[0] ?? '')) continue;
    if (match.index > SNIPPET_LEAD_CHARS) start = best.lastIndexOf(' ', match.index - SNIPPET_LEAD_CHARS) + 1;
    break;
  }
  return `${start > 0 ? '…' : ''}${clipText(best.slice(start), SNIPPET_CHARS)}`;
}
