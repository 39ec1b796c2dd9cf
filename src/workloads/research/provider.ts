import { DEFAULT_CORPUS_DIR, LocalSearch } from './local-search.js';
import type { SearchProvider } from './search.js';
import { TavilySearch } from './tavily.js';

/**
 * The search research uses: Tavily's web search when `TAVILY_API_KEY` is set
 * (at `TAVILY_BASE_URL` if that is set too), else the local corpus, so the
 * pipeline works offline with nothing configured. The caller passes the
 * environment: only the CLI reads `process.env`.
 */
export async function searchProviderFromEnv(
  env: Record<string, string | undefined>,
  options: { corpusDir?: string } = {},
): Promise<SearchProvider> {
  const apiKey = env.TAVILY_API_KEY?.trim();
  if (apiKey) return new TavilySearch({ apiKey, baseUrl: env.TAVILY_BASE_URL?.trim() || undefined });
  return LocalSearch.open(options.corpusDir ?? DEFAULT_CORPUS_DIR);
}
