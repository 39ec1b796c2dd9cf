import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DEFAULT_CORPUS_DIR, LocalSearch } from '../../../src/workloads/index.js';
import { stem, tokenize } from '../../../src/workloads/research/local-search.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-corpus-'));
let folders = 0;
/** A fresh folder holding `files` (relative path → content). */
function corpus(files: Record<string, string | Buffer>): string {
  const root = path.join(dir, String(++folders));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  fs.mkdirSync(root, { recursive: true });
  return root;
}

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the shipped corpus', () => {
  let shipped: LocalSearch;
  beforeAll(async () => {
    shipped = await LocalSearch.open(DEFAULT_CORPUS_DIR);
  });

  it('is the corpus folder at the package root', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    expect(DEFAULT_CORPUS_DIR).toBe(path.join(root, 'corpus'));
  });

  it('holds 15 to 20 short Markdown documents, each opening with a title', () => {
    const files = fs.readdirSync(DEFAULT_CORPUS_DIR).filter((f) => f.endsWith('.md'));
    expect(files.length).toBeGreaterThanOrEqual(15);
    expect(files.length).toBeLessThanOrEqual(20);
    for (const file of files) {
      const text = fs.readFileSync(path.join(DEFAULT_CORPUS_DIR, file), 'utf8');
      expect(text.split('\n')[0], file).toMatch(/^# \S/);
      const words = text.split(/\s+/).filter(Boolean).length;
      expect(words, file).toBeGreaterThanOrEqual(250);
      expect(words, file).toBeLessThanOrEqual(600);
    }
    expect(shipped.size).toBe(files.length);
    expect(shipped.skipped).toEqual([]);
  });

  it.each([
    ['skip locked claims', 'postgres-skip-locked.md'],
    ['exponential backoff with jitter', 'retries-backoff-jitter.md'],
    ['fencing token stale write', 'fencing-tokens.md'],
    ['consumer group pending entries', 'redis-streams-consumer-groups.md'],
    ['virtual nodes on the hash ring', 'consistent-hashing.md'],
    ['token bucket', 'rate-limiting.md'],
    ['tree-structured Parzen estimator', 'bayesian-optimisation-tpe.md'],
  ])('ranks the document about "%s" first', async (query, expected) => {
    const [first] = await shipped.search(query, { limit: 5 });
    expect(first?.source).toBe(expected);
  });

  it('answers with a title, a snippet holding a query term and a descending score', async () => {
    for (const query of ['skip locked claims', 'idempotency key expiry', 'circuit breaker half-open', 'winner curse noise']) {
      const results = await shipped.search(query, { limit: 5 });
      expect(results.length).toBeGreaterThan(0);
      const queryTerms = new Set(tokenize(query));
      for (const result of results) {
        expect(result.title).not.toBe('');
        expect(result.snippet.length).toBeLessThanOrEqual(242);
        expect(tokenize(result.snippet).some((term) => queryTerms.has(term)), `${query} → ${result.snippet}`).toBe(true);
      }
      const scores = results.map((r) => r.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    }
  });

  it('returns at most limit results', async () => {
    expect(await shipped.search('queue retry lease', { limit: 2 })).toHaveLength(2);
    expect(await shipped.search('queue retry lease', { limit: 0 })).toEqual([]);
  });

  it('finds nothing for an empty query or one made only of stop words', async () => {
    expect(await shipped.search('', { limit: 5 })).toEqual([]);
    expect(await shipped.search('   ', { limit: 5 })).toEqual([]);
    expect(await shipped.search('the of and', { limit: 5 })).toEqual([]);
  });

  it('refuses to search once the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(shipped.search('lease', { limit: 5, signal: controller.signal })).rejects.toThrow('cancelled');
  });
});

describe('tokens', () => {
  it('brings plural, -ed and -ing forms to one stem', () => {
    expect(stem('leases')).toBe(stem('lease'));
    expect(stem('leased')).toBe(stem('lease'));
    expect(stem('leasing')).toBe(stem('lease'));
    expect(stem('claiming')).toBe(stem('claim'));
    expect(stem('claims')).toBe(stem('claim'));
    expect(stem('retries')).toBe(stem('retry'));
    expect(stem('retried')).toBe(stem('retry'));
    expect(stem('skipped')).toBe(stem('skip'));
    expect(stem('processes')).toBe(stem('process'));
  });

  it('leaves short words, words ending in -ss/-us/-is and numbers alone', () => {
    for (const word of ['bus', 'status', 'redis', 'process', 'string', '2048', 'v8s']) expect(stem(word)).toBe(word);
  });

  it('lower-cases Unicode letters and digits and drops stop words', () => {
    expect(tokenize('The Über-Queue of Zürich 42!')).toEqual(['über', 'queu', 'zürich', '42']);
  });

  it('matches a query to a document through stems', async () => {
    const search = await LocalSearch.open(corpus({ 'a.md': '# Notes\n\nWorkers renew their leases while claiming work.\n', 'b.md': '# Other\n\nNothing here.\n' }));
    const results = await search.search('leased claim', { limit: 5 });
    expect(results.map((r) => r.source)).toEqual(['a.md']);
    expect(results[0]?.snippet).toBe('Workers renew their leases while claiming work.');
  });
});

describe('a folder of the user', () => {
  it('indexes .md and .txt files in nested folders, titled by heading or file name', async () => {
    const search = await LocalSearch.open(
      corpus({
        'guide.md': 'Intro line.\n\n# Queue Guide\n\nA queue holds work.\n',
        'plain.md': 'A queue without a heading.\n',
        'deep/notes/queue-notes.txt': 'More about the queue.\n',
        'image.png': 'queue',
        'script.js': '// queue',
        '.hidden/secret.md': '# Hidden\n\nqueue',
      }),
    );
    expect(search.size).toBe(3);
    const results = await search.search('queue', { limit: 10 });
    expect(results.map((r) => [r.source, r.title]).sort()).toEqual([
      ['deep/notes/queue-notes.txt', 'queue-notes'],
      ['guide.md', 'Queue Guide'],
      ['plain.md', 'plain'],
    ]);
  });

  it('ranks a document whose title holds the query above one that only mentions it', async () => {
    const body = 'Backoff spreads retries out over time so a service can recover.\n';
    const search = await LocalSearch.open(corpus({ 'a.md': `# Timeouts\n\n${body}`, 'z.md': `# Backoff\n\n${body}` }));
    expect((await search.search('backoff', { limit: 2 })).map((r) => r.source)).toEqual(['z.md', 'a.md']);
  });

  it('breaks ties by source path, the same on every search', async () => {
    const text = '# Same\n\nIdentical text about fencing tokens.\n';
    const root = corpus({ 'c.md': text, 'a.md': text, 'b/a.md': text });
    const first = await (await LocalSearch.open(root)).search('fencing', { limit: 5 });
    expect(first.map((r) => r.source)).toEqual(['a.md', 'b/a.md', 'c.md']);
    expect(new Set(first.map((r) => r.score)).size).toBe(1);
    const again = await (await LocalSearch.open(root)).search('fencing', { limit: 5 });
    expect(again).toEqual(first);
  });

  it('picks the sentence with the most query terms, clipped around the first match', async () => {
    const filler = 'Lorem ipsum dolor sit amet consectetur '.repeat(10);
    const search = await LocalSearch.open(
      corpus({
        'a.md': `# Doc\n\nJitter is mentioned here. ${filler} and then exponential backoff with jitter appears late in a long sentence ${filler}.\n\n\`\`\`\nbackoff jitter exponential in code\n\`\`\`\n`,
      }),
    );
    const [result] = await search.search('exponential backoff jitter', { limit: 1 });
    expect(result?.snippet.startsWith('…')).toBe(true);
    expect(result?.snippet).toContain('exponential backoff with jitter');
    expect(result?.snippet).not.toContain('in code');
    expect(result!.snippet.length).toBeLessThanOrEqual(242);
  });

  it('skips a file over 1 MiB and says so', async () => {
    const big = `# Big\n\n${'zebra '.repeat(200_000)}`;
    const search = await LocalSearch.open(corpus({ 'big.md': big, 'small.md': '# Small\n\nOne zebra.\n' }));
    expect(Buffer.byteLength(big)).toBeGreaterThan(1024 * 1024);
    expect((await search.search('zebra', { limit: 5 })).map((r) => r.source)).toEqual(['small.md']);
    expect(search.skipped).toEqual([{ source: 'big.md', reason: `larger than ${1024 * 1024} bytes` }]);
  });

  it('stops reading at the file limit', async () => {
    const search = await LocalSearch.open(corpus({ 'a.md': 'one', 'b.md': 'two', 'c.md': 'three' }), { maxFiles: 2 });
    expect(search.size).toBe(2);
    expect(search.skipped.map((s) => s.source)).toEqual(['c.md']);
  });

  it('searches an empty folder without error', async () => {
    expect(await (await LocalSearch.open(corpus({}))).search('anything', { limit: 5 })).toEqual([]);
  });

  it('fails with ORC_WORKLOAD_CORPUS_UNREADABLE naming a missing folder', async () => {
    const missing = path.join(dir, 'no-such-folder');
    const err = await LocalSearch.open(missing).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_CORPUS_UNREADABLE', retryable: false });
    expect((err as Error).message).toContain(missing);
    expect((err as Error).message).toContain('ENOENT');
  });

  it('fails with ORC_WORKLOAD_CORPUS_UNREADABLE when the corpus is a file', async () => {
    const file = path.join(corpus({ 'a.md': 'x' }), 'a.md');
    await expect(LocalSearch.open(file)).rejects.toMatchObject({ code: 'ORC_WORKLOAD_CORPUS_UNREADABLE', message: expect.stringContaining(file) });
  });
});
