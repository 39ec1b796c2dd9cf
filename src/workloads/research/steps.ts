import { z } from 'zod';
import { NonRetryableError, parseWith, toValidationError, ValidationError, type Task, type TaskHandler } from '../../protocol/index.js';
import type { SearchProvider, SearchResult } from './search.js';

/** Kinds the CLI registers these steps under; a writer task depends on its research task. */
export const RESEARCH_KIND = 'research';
export const WRITE_KIND = 'write';

const DEFAULT_LIMIT = 5;
/** Sources quoted in the summary paragraph; the rest appear only under Findings. */
const SUMMARY_SOURCES = 3;

const topic = z.string().trim().min(1).max(500);
const researchPayload = z.object({ topic, limit: z.number().int().min(1).max(20).optional() });
const writePayload = z.object({ topic });

/** What a research task stores as its result, and what a writer accepts from a dependency. */
export const researchResultSchema = z.object({
  topic: z.string(),
  provider: z.string(),
  sources: z.array(z.object({ title: z.string(), source: z.string(), snippet: z.string(), score: z.number() })),
});
export type ResearchResult = z.output<typeof researchResultSchema>;
export type WriteResult = { topic: string; report: string; sources: number; words: number };

/** A payload that fails its schema fails the task at once: no retry can fix it. */
function parsePayload<S extends z.ZodType>(schema: S, subject: string, payload: unknown): z.output<S> {
  try {
    return parseWith(schema, subject, payload);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new NonRetryableError(err.message, err.code, { field: err.issues[0]?.path ?? '(root)' });
  }
}

/**
 * Looks the topic up with `provider`. Finding nothing is a result, not a
 * failure: the writer decides what an empty list means.
 */
export function researchHandler(provider: SearchProvider, options: { limit?: number } = {}): TaskHandler {
  return async (task, context): Promise<ResearchResult> => {
    const payload = parsePayload(researchPayload, `${RESEARCH_KIND} payload`, task.payload);
    const found = await provider.search(payload.topic, { limit: payload.limit ?? options.limit ?? DEFAULT_LIMIT, signal: context.signal });
    // Copied field by field: a provider's extra fields stay out of the stored result.
    const sources = found.map(({ title, source, snippet, score }) => ({ title, source, snippet, score }));
    return { topic: payload.topic, provider: provider.name, sources };
  };
}

/**
 * Writes a Markdown report from the results of the research tasks this task
 * depends on. Deterministic: the same sources always give the same report.
 */
export function writeHandler(): TaskHandler {
  return async (task, context): Promise<WriteResult> => {
    const payload = parsePayload(writePayload, `${WRITE_KIND} payload`, task.payload);
    const research = researchOf(task, await context.dependencies());
    const sources = uniqueSources(research);
    if (sources.length === 0) {
      throw new NonRetryableError(
        `research for "${payload.topic}" found no sources to write a report from`,
        'ORC_WORKLOAD_NO_SOURCES',
        { dependencies: task.dependsOn },
      );
    }
    const providers = [...new Set(research.map((r) => r.provider))];
    const report = compose(payload.topic, sources, providers);
    return { topic: payload.topic, report, sources: sources.length, words: report.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length };
  };
}

/** Every dependency's result, in the order the task lists them; each must be a research result. */
function researchOf(task: Task, dependencies: Task[]): ResearchResult[] {
  const position = (dep: Task) => {
    const at = task.dependsOn.indexOf(dep.taskId);
    return at < 0 ? Number.MAX_SAFE_INTEGER : at;
  };
  const ordered = [...dependencies].sort((a, b) => position(a) - position(b) || (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
  return ordered.map((dep) => {
    const parsed = researchResultSchema.safeParse(dep.result);
    if (parsed.success) return parsed.data;
    const invalid = toValidationError('research result', parsed.error, dep.result);
    throw new NonRetryableError(`dependency ${dep.taskId} (kind ${dep.kind}) did not produce a research result: ${invalid.message}`, invalid.code, {
      dependency: dep.taskId,
    });
  });
}

/** Sources of all research results, each URL or file once, in the order research ranked them. */
function uniqueSources(research: ResearchResult[]): SearchResult[] {
  const seen = new Set<string>();
  return research
    .flatMap((r) => r.sources)
    .filter((s) => {
      if (seen.has(s.source)) return false;
      seen.add(s.source);
      return true;
    });
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** A snippet's first sentence, ending in punctuation so sentences join into a paragraph. */
function firstSentence(snippet: string): string {
  const sentence = oneLine(snippet).replace(/^…\s*/, '').split(/(?<=[.!?])\s+/)[0] ?? '';
  return /[.!?…]$/.test(sentence) ? sentence : `${sentence}.`;
}

function compose(topic: string, sources: SearchResult[], providers: string[]): string {
  const cite = (i: number) => `[${i + 1}]`;
  const quoted = sources
    .slice(0, SUMMARY_SOURCES)
    .map((s, i) => (s.snippet.trim() ? `${firstSentence(s.snippet)} ${cite(i)}` : ''))
    .filter(Boolean);
  const count = `${sources.length} source${sources.length === 1 ? '' : 's'}`;
  const summary = [`This report draws on ${count} found by ${providers.join(' and ')} search.`, ...quoted].join(' ');
  return [
    `# ${oneLine(topic)}`,
    '',
    summary,
    '',
    '## Findings',
    '',
    ...sources.map((s, i) => `- ${oneLine(s.snippet) || oneLine(s.title)} ${cite(i)}`),
    '',
    '## Sources',
    '',
    ...sources.map((s, i) => `- ${cite(i)} ${oneLine(s.title)} — ${s.source}`),
    '',
  ].join('\n');
}
