import { OrchestraError } from '../../protocol/index.js';
import { DEFAULT_CORPUS_DIR, LocalSearch } from './local-search.js';
import type { SearchProvider } from './search.js';
import { TavilySearch } from './tavily.js';

/**
 * The search research uses: Tavily's web search when `TAVILY_API_KEY` is set
 * (at `TAVILY_BASE_URL` if that is set too), else the local corpus, so the
 * pipeline works offline with nothing configured. The key is checked here,
 * as the researcher starts, so a refused one is reported once, naming the
 * variable, instead of failing every research task. The caller passes the
 * environment: only the CLI reads `process.env`.
 */
export async function searchProviderFromEnv(
  env: Record<string, string | undefined>,
  options: { corpusDir?: string } = {},
): Promise<SearchProvider> {
  const apiKey = env.TAVILY_API_KEY?.trim();
  const baseUrl = env.TAVILY_BASE_URL?.trim() || undefined;
  if (apiKey) {
    const tavily = new TavilySearch({ apiKey, baseUrl });
    await tavily.verifyKey();
    return tavily;
  }
  // Pointing at a Tavily service says web search was wanted: searching the local corpus instead would hide the missing key.
  if (baseUrl) throw new OrchestraError('ORC_CONFIG_INVALID', 'TAVILY_BASE_URL is set but TAVILY_API_KEY is not: set the key to search through Tavily, or unset both to search the local corpus');
  return LocalSearch.open(options.corpusDir ?? DEFAULT_CORPUS_DIR);
}
