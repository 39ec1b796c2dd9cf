export { clipText, type SearchOptions, type SearchProvider, type SearchResult } from './search.js';
export { DEFAULT_CORPUS_DIR, LocalSearch, type LocalSearchOptions, type SkippedFile } from './local-search.js';
export { TavilySearch, type TavilyOptions } from './tavily.js';
export { searchProviderFromEnv } from './provider.js';
export {
  RESEARCH_KIND,
  WRITE_KIND,
  researchHandler,
  writeHandler,
  researchResultSchema,
  type ResearchResult,
  type WriteResult,
} from './steps.js';
