import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { ManualClock } from '../../../src/protocol/index.js';
import { DEFAULT_CORPUS_DIR, searchProviderFromEnv, TavilySearch } from '../../../src/workloads/index.js';

const API_KEY = 'tvly-test-0123456789secret';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

type Respond = (req: Received, res: http.ServerResponse) => void;

/** A stand-in for Tavily on 127.0.0.1: each test says how it answers; every request is kept. */
let respond: Respond;
const received: Received[] = [];
let requestArrived: () => void = () => undefined;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    const got = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? (JSON.parse(text) as unknown) : null };
    received.push(got);
    requestArrived();
    respond(got, res);
  });
});
let baseUrl = '';

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  // A fresh connection per request: a reused keep-alive socket that the stub
  // closed between tests would fail the next POST for reasons of the harness.
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

/** What Tavily answers for a search, trimmed to the fields we read plus some we ignore. */
const tavilyAnswer = (results: unknown[]) => ({ query: 'q', answer: null, images: [], results, response_time: 0.4 });

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  received.length = 0;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The error a search failed with, checked on the way to carry no trace of the key. */
const failureOf = async (promise: Promise<unknown>) => {
  const err = await promise.then(
    () => new Error('expected the search to fail'),
    (e: unknown) => e,
  );
  expect(JSON.stringify(err)).not.toContain(API_KEY);
  expect(String((err as Error).message)).not.toContain(API_KEY);
  expect(inspect(err)).not.toContain(API_KEY);
  return err as { code: string; message: string; retryable: boolean };
};

describe('Tavily search', () => {
  it('posts the query with the bearer key and maps the results', async () => {
    respond = (_req, res) =>
      json(
        res,
        200,
        tavilyAnswer([
          { title: 'Leases explained', url: 'https://example.test/leases', content: 'A lease is a claim that expires.', score: 0.91, raw_content: null },
          { title: '  ', url: 'https://example.test/untitled', content: 'x '.repeat(400), score: 0.5 },
        ]),
      );
    const tavily = new TavilySearch({ apiKey: API_KEY, baseUrl: `${baseUrl}/` });
    const results = await tavily.search('what is a lease', { limit: 7 });

    expect(received).toHaveLength(1);
    const [req] = received;
    expect(req).toMatchObject({ method: 'POST', url: '/search' });
    expect(req?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(req?.headers['content-type']).toBe('application/json');
    // Advanced depth: Tavily picks the most relevant passages of each page, worth the extra credit for a report's sources.
    expect(req?.body).toEqual({ query: 'what is a lease', max_results: 3, search_depth: 'advanced' });

    expect(tavily.name).toBe('tavily');
    expect(results[0]).toEqual({ title: 'Leases explained', source: 'https://example.test/leases', snippet: 'A lease is a claim that expires.', score: 0.91 });
    // An empty title falls back to the URL; long content is clipped.
    expect(results[1]?.title).toBe('https://example.test/untitled');
    expect(results[1]!.snippet.length).toBeLessThanOrEqual(401);
    expect(results[1]?.snippet.endsWith('…')).toBe(true);
  });

  it('asks for 3 results unless told otherwise, never more than 20, and returns no more than the limit', async () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ title: `t${i}`, url: `https://example.test/${i}`, content: 'c', score: 1 - i / 100 }));
    respond = (_req, res) => json(res, 200, tavilyAnswer(many));
    expect(await new TavilySearch({ apiKey: API_KEY, baseUrl }).search('q', { limit: 5 })).toHaveLength(5);
    expect(received[0]?.body).toMatchObject({ max_results: 3 });
    const results = await new TavilySearch({ apiKey: API_KEY, baseUrl, maxResults: 50 }).search('q', { limit: 50 });
    expect(received[1]?.body).toMatchObject({ max_results: 20 });
    expect(results).toHaveLength(25);
    const few = await new TavilySearch({ apiKey: API_KEY, baseUrl, maxResults: 10 }).search('q', { limit: 2 });
    expect(received[2]?.body).toMatchObject({ max_results: 2 });
    expect(few).toHaveLength(2);
  });

  it('sends nothing for an empty query', async () => {
    expect(await new TavilySearch({ apiKey: API_KEY, baseUrl }).search('  ', { limit: 5 })).toEqual([]);
    expect(received).toHaveLength(0);
  });

  it.each([401, 403])('reports HTTP %i as unauthorized, not to be retried', async (status) => {
    respond = (_req, res) => json(res, status, { detail: { error: 'Unauthorized: missing or invalid API key.' } });
    const err = await failureOf(new TavilySearch({ apiKey: API_KEY, baseUrl }).search('q', { limit: 5 }));
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_SEARCH_UNAUTHORIZED', retryable: false });
    expect(err.message).toContain(`HTTP ${status}`);
    expect(err.message).toContain('invalid API key');
  });

  it.each([500, 502, 429])('reports HTTP %i as a failure worth retrying', async (status) => {
    respond = (_req, res) => json(res, status, { detail: { error: 'try later' } });
    const err = await failureOf(new TavilySearch({ apiKey: API_KEY, baseUrl }).search('q', { limit: 5 }));
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_SEARCH_FAILED', retryable: true });
    expect(err.message).toContain(`HTTP ${status}`);
  });

  it('reports another refusal (HTTP 400) as a failure not worth retrying', async () => {
    respond = (_req, res) => json(res, 400, { detail: { error: 'query is too long' } });
    const err = await failureOf(new TavilySearch({ apiKey: API_KEY, baseUrl }).search('q', { limit: 5 }));
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_SEARCH_FAILED', retryable: false });
    expect(err.message).toContain('query is too long');
  });

  it('never puts the key in an error, even when the service echoes it', async () => {
    respond = (req, res) => json(res, 500, { error: 'bad gateway', echoed: req.headers.authorization });
    const tavily = new TavilySearch({ apiKey: API_KEY, baseUrl });
    const err = await failureOf(tavily.search('q', { limit: 5 }));
    expect(err.message).toContain('Bearer ***');
    expect(inspect(tavily)).not.toContain(API_KEY);
    expect(JSON.stringify(tavily)).not.toContain(API_KEY);
  });

  it('names the field when the answer has the wrong shape, and does not retry it', async () => {
    respond = (_req, res) => json(res, 200, tavilyAnswer([{ title: 'no url', content: 'c', score: 1 }]));
    const err = await failureOf(new TavilySearch({ apiKey: API_KEY, baseUrl }).search('q', { limit: 5 }));
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_SEARCH_FAILED', retryable: false });
    expect(err.message).toContain('results.0.url');
  });

  it('names the missing results list', async () => {
    respond = (_req, res) => json(res, 200, { answer: 'forty-two' });
    const err = await failureOf(new TavilySearch({ apiKey: API_KEY, baseUrl }).search('q', { limit: 5 }));
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_SEARCH_FAILED', retryable: false });
    expect(err.message).toContain('results');
  });

  it('fails on a body that is not JSON', async () => {
    respond = (_req, res) => json(res, 200, '<html>maintenance</html>');
    const err = await failureOf(new TavilySearch({ apiKey: API_KEY, baseUrl }).search('q', { limit: 5 }));
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_SEARCH_FAILED', retryable: false });
    expect(err.message).toContain('not JSON');
  });

  it('fails, to be retried, when nothing listens at the address', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failureOf(new TavilySearch({ apiKey: API_KEY, baseUrl: `http://127.0.0.1:${port}` }).search('q', { limit: 5 }));
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_SEARCH_FAILED', retryable: true });
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('gives up on a server that never answers when its clock says the timeout passed', async () => {
    respond = () => undefined;
    const clock = new ManualClock();
    const arrived = new Promise<void>((resolve) => (requestArrived = resolve));
    const failure = failureOf(new TavilySearch({ apiKey: API_KEY, baseUrl, timeoutMs: 200, clock }).search('q', { limit: 5 }));
    await arrived;
    await clock.advance(199);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(1);
    const err = await failure;
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_SEARCH_FAILED', retryable: true });
    expect(err.message).toContain('200 ms');
  });

  it('gives up on a server that never answers, on the system clock', async () => {
    respond = () => undefined;
    const err = await failureOf(new TavilySearch({ apiKey: API_KEY, baseUrl, timeoutMs: 200 }).search('q', { limit: 5 }));
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_SEARCH_FAILED', retryable: true });
  });

  it("rejects with the caller's own reason when the task is cancelled", async () => {
    respond = () => undefined;
    const controller = new AbortController();
    const arrived = new Promise<void>((resolve) => (requestArrived = resolve));
    const failure = failureOf(new TavilySearch({ apiKey: API_KEY, baseUrl }).search('q', { limit: 5, signal: controller.signal }));
    await arrived;
    const reason = new Error('task cancelled');
    controller.abort(reason);
    expect(await failure).toBe(reason);
  });

  it('refuses an empty key or a base URL that is not a URL', () => {
    expect(() => new TavilySearch({ apiKey: ' ' })).toThrow(expect.objectContaining({ code: 'ORC_CONFIG_INVALID' }));
    expect(() => new TavilySearch({ apiKey: API_KEY, baseUrl: 'not a url' })).toThrow(expect.objectContaining({ code: 'ORC_CONFIG_INVALID' }));
  });

});

describe('searchProviderFromEnv', () => {
  it('uses Tavily at TAVILY_BASE_URL when TAVILY_API_KEY is set, checking the key first', async () => {
    respond = (req, res) =>
      req.url === '/usage' ? json(res, 200, { key: { usage: 3, limit: 1000 } }) : json(res, 200, tavilyAnswer([{ title: 't', url: 'https://example.test/', content: 'c', score: 1 }]));
    const provider = await searchProviderFromEnv({ TAVILY_API_KEY: API_KEY, TAVILY_BASE_URL: baseUrl }, {});
    expect(received.map((r) => [r.method, r.url])).toEqual([['GET', '/usage']]);
    expect(received[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(provider.name).toBe('tavily');
    expect(await provider.search('q', { limit: 1 })).toHaveLength(1);
    expect(received[1]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('refuses to start with a key Tavily refuses, naming TAVILY_API_KEY, before any search', async () => {
    respond = (_req, res) => json(res, 401, { detail: { error: 'Unauthorized: missing or invalid API key.' } });
    const err = await failureOf(searchProviderFromEnv({ TAVILY_API_KEY: API_KEY, TAVILY_BASE_URL: baseUrl }, {}));
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_SEARCH_UNAUTHORIZED', retryable: false });
    expect(err.message).toMatch(/^TAVILY_API_KEY was refused by tavily \(HTTP 401\)/);
    expect(received.map((r) => [r.method, r.url])).toEqual([['GET', '/usage']]);
  });

  it('starts anyway when the key cannot be checked: a service without the usage endpoint, or one that is down', async () => {
    respond = (req, res) => (req.url === '/usage' ? json(res, 404, 'not here') : json(res, 200, tavilyAnswer([])));
    expect((await searchProviderFromEnv({ TAVILY_API_KEY: API_KEY, TAVILY_BASE_URL: baseUrl }, {})).name).toBe('tavily');
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    expect((await searchProviderFromEnv({ TAVILY_API_KEY: API_KEY, TAVILY_BASE_URL: `http://127.0.0.1:${port}` }, {})).name).toBe('tavily');
  });

  it('refuses TAVILY_BASE_URL without TAVILY_API_KEY instead of quietly searching the local corpus', async () => {
    await expect(searchProviderFromEnv({ TAVILY_BASE_URL: baseUrl }, {})).rejects.toMatchObject({
      code: 'ORC_CONFIG_INVALID',
      message: expect.stringContaining('TAVILY_API_KEY'),
    });
    expect(received).toHaveLength(0);
  });

  it('searches the given corpus folder when no key is set', async () => {
    const provider = await searchProviderFromEnv({ TAVILY_API_KEY: '  ' }, { corpusDir: DEFAULT_CORPUS_DIR });
    expect(provider.name).toBe('local');
    expect((await provider.search('skip locked', { limit: 1 }))[0]?.source).toBe('postgres-skip-locked.md');
  });

  it('falls back to the shipped corpus', async () => {
    const provider = await searchProviderFromEnv({}, {});
    expect(provider.name).toBe('local');
    expect((await provider.search('fencing token', { limit: 1 }))[0]?.source).toBe('fencing-tokens.md');
  });

  it('fails naming the folder when the corpus folder is missing', async () => {
    await expect(searchProviderFromEnv({}, { corpusDir: '/nonexistent/orchestra-corpus' })).rejects.toMatchObject({
      code: 'ORC_WORKLOAD_CORPUS_UNREADABLE',
      message: expect.stringContaining('/nonexistent/orchestra-corpus'),
    });
  });
});
