/** One hit of a search: enough for a writer to quote it and cite where it came from. */
export interface SearchResult {
  title: string;
  /** A file path relative to the corpus folder, or a URL. */
  source: string;
  snippet: string;
  /** Higher is more relevant; comparable only within one provider's answer. */
  score: number;
}

export interface SearchOptions {
  limit: number;
  /** Aborted when the task is cancelled or its lease is lost. */
  signal?: AbortSignal;
}

/** Where research looks things up: the shipped corpus, a folder of the user's, or a web search API. */
export interface SearchProvider {
  /** Short and stable (`local`, `tavily`): it is recorded in the research result. */
  readonly name: string;
  /** Results best first, at most `options.limit` of them; an empty query finds nothing. */
  search(query: string, options: SearchOptions): Promise<SearchResult[]>;
}

/**
 * `text` on one line, cut at a word boundary to at most about `maxChars`
 * characters with an ellipsis marking the cut, so a snippet stays readable
 * and a task result stays small whatever a document or an API returns.
 */
export function clipText(text: string, maxChars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= maxChars) return flat;
  const cut = flat.slice(0, maxChars);
  const space = cut.lastIndexOf(' ');
  // A single very long word has no boundary worth keeping: cut it where it is.
  const kept = space > maxChars / 2 ? cut.slice(0, space) : cut;
  return `${kept.replace(/[\s,;:]+$/, '')}…`;
}
