import { z } from 'zod';
import { OrchestraError, redactUrl, systemClock, toValidationError, type Clock } from '../../protocol/index.js';
import { clipText, type SearchOptions, type SearchProvider, type SearchResult } from './search.js';

export interface TavilyOptions {
  apiKey: string;
  /** Default https://api.tavily.com. */
  baseUrl?: string;
  /** For the whole exchange, the answer's body included. Default 15 s. */
  timeoutMs?: number;
  /**
   * Results asked of each search (at most 20, Tavily's ceiling), fewer when the
   * caller's limit is lower. Default 3: with advanced depth each result carries
   * the passages that matter, and a report is written from a few good sources.
   */
  maxResults?: number;
  /** Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Times the timeout; default the system clock. */
  clock?: Clock;
}

const DEFAULT_BASE_URL = 'https://api.tavily.com';
const DEFAULT_TIMEOUT_MS = 15_000;
/** Tavily's own ceiling on `max_results`. */
const MAX_RESULTS = 20;
const DEFAULT_MAX_RESULTS = 3;
const SNIPPET_CHARS = 400;
/** Enough of an error answer to show the service's reason, not a whole HTML page. */
const ERROR_BODY_CHARS = 200;

/** The part of Tavily's answer we use; it sends more (answer, images, response_time), which is ignored. */
const tavilyResponse = z.object({
  results: z.array(
    z.object({
      title: z.string(),
      url: z.string().min(1),
      content: z.string(),
      score: z.number(),
    }),
  ),
});

/**
 * Web search through Tavily's REST API (`POST /search`, bearer token). Every
 * failure is an `OrchestraError` whose retryability says whether another
 * attempt can help: an overloaded or unreachable service yes, a refused key
 * or an answer of the wrong shape no.
 */
export class TavilySearch implements SearchProvider {
  readonly name = 'tavily';
  // A private field: neither util.inspect nor JSON.stringify shows it, so
  // logging the provider cannot leak the key.
  readonly #apiKey: string;
  private readonly endpoint: string;
  private readonly usageEndpoint: string;
  private readonly timeoutMs: number;
  private readonly maxResults: number;
  private readonly fetch: typeof fetch;
  private readonly clock: Clock;

  constructor(options: TavilyOptions) {
    if (options.apiKey.trim() === '') throw new OrchestraError('ORC_CONFIG_INVALID', 'tavily search needs a non-empty API key (TAVILY_API_KEY)');
    this.#apiKey = options.apiKey;
    const base = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    if (!URL.canParse(base)) throw new OrchestraError('ORC_CONFIG_INVALID', 'the tavily base URL is not a URL');
    this.endpoint = `${base}/search`;
    this.usageEndpoint = `${base}/usage`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResults = Math.max(1, Math.min(options.maxResults ?? DEFAULT_MAX_RESULTS, MAX_RESULTS));
    this.fetch = options.fetch ?? globalThis.fetch;
    this.clock = options.clock ?? systemClock;
  }

  async search(query: string, options: SearchOptions): Promise<SearchResult[]> {
    if (query.trim() === '' || options.limit < 1) return [];
    options.signal?.throwIfAborted();
    const timeout = new AbortController();
    const timer = this.clock.setTimeout(() => timeout.abort(), this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
    try {
      const response = await this.fetch(this.endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query, max_results: Math.min(options.limit, this.maxResults), search_depth: 'advanced' }),
        signal,
      });
      const text = await response.text();
      if (!response.ok) throw this.statusError(response.status, text);
      return this.parse(text).slice(0, options.limit);
    } catch (err) {
      if (err instanceof OrchestraError) throw err;
      // A cancelled task or a lost lease: the worker expects its own reason back.
      if (options.signal?.aborted) throw options.signal.reason;
      if (timeout.signal.aborted) throw this.failure(`tavily search did not answer within ${this.timeoutMs} ms`, true);
      throw this.failure(`tavily search could not reach ${redactUrl(this.endpoint)}: ${causeOf(err)}`, true);
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  /**
   * Asks Tavily about the key (`GET /usage`, which costs no credit) so that a
   * refused key stops the researcher as it starts rather than failing its
   * first task. Only a refusal counts: a service that is down, slow, or has no
   * usage endpoint (a proxy) is left for the searches, which retry.
   */
  async verifyKey(): Promise<void> {
    const timeout = new AbortController();
    const timer = this.clock.setTimeout(() => timeout.abort(), this.timeoutMs);
    let status: number;
    let body: string;
    try {
      const response = await this.fetch(this.usageEndpoint, {
        method: 'GET',
        headers: { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json' },
        signal: timeout.signal,
      });
      status = response.status;
      body = await response.text();
    } catch {
      return;
    } finally {
      this.clock.clearTimeout(timer);
    }
    if (status === 401 || status === 403) {
      const detail = body.trim() === '' ? '' : `: ${clipText(body, ERROR_BODY_CHARS)}`;
      throw this.failure(`TAVILY_API_KEY was refused by tavily (HTTP ${status})${detail}; set a valid key, or unset it to search the local corpus`, false, 'ORC_WORKLOAD_SEARCH_UNAUTHORIZED');
    }
  }

  private statusError(status: number, body: string): OrchestraError {
    const detail = body.trim() === '' ? '' : `: ${clipText(body, ERROR_BODY_CHARS)}`;
    if (status === 401 || status === 403) {
      return this.failure(`tavily search refused the API key (HTTP ${status})${detail}`, false, 'ORC_WORKLOAD_SEARCH_UNAUTHORIZED');
    }
    // Overload and rate limits pass; any other refusal would be repeated as is.
    const retryable = status === 429 || status >= 500;
    return this.failure(`tavily search answered HTTP ${status}${detail}`, retryable);
  }

  private parse(text: string): SearchResult[] {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw this.failure(`tavily search answered with a body that is not JSON: ${clipText(text, ERROR_BODY_CHARS)}`, false);
    }
    const parsed = tavilyResponse.safeParse(body);
    if (!parsed.success) throw this.failure(`tavily search answered with an unusable body: ${toValidationError('tavily response', parsed.error, body).message}`, false);
    return parsed.data.results.map((r) => ({
      title: r.title.trim() || r.url,
      source: r.url,
      snippet: clipText(r.content, SNIPPET_CHARS),
      score: r.score,
    }));
  }

  /**
   * Every message built here passes through this: a service that echoes the
   * request, or a base URL carrying a credential, must not put the key in a
   * task's error, where the dashboard and logs would show it.
   */
  private failure(message: string, retryable: boolean, code: 'ORC_WORKLOAD_SEARCH_FAILED' | 'ORC_WORKLOAD_SEARCH_UNAUTHORIZED' = 'ORC_WORKLOAD_SEARCH_FAILED') {
    return new OrchestraError(code, message.split(this.#apiKey).join('***'), retryable);
  }
}

/** fetch rejects with "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND) is its cause. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
