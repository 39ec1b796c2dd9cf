import { describe, it, expect, beforeAll } from 'vitest';
import { NonRetryableError, type JsonValue, type Task, type TaskContext } from '../../../src/protocol/index.js';
import {
  DEFAULT_CORPUS_DIR,
  LocalSearch,
  RESEARCH_KIND,
  WRITE_KIND,
  researchHandler,
  writeHandler,
  type ResearchResult,
} from '../../../src/workloads/index.js';
import { runningTask } from '../support.js';

const task = (fields: Omit<Partial<Task>, 'payload'> & { payload: unknown }): Task => runningTask({ kind: RESEARCH_KIND, ...fields });

/** A finished research task, as the registry hands it to a dependent writer. */
const completed = (taskId: string, result: unknown, kind = RESEARCH_KIND): Task =>
  task({ taskId, kind, status: 'COMPLETED', payload: {}, result: result as JsonValue, workerId: null });

const context = (dependencies: Task[] = [], signal = new AbortController().signal): TaskContext => ({
  signal,
  workerId: 'w',
  attempt: 1,
  dependencies: async () => dependencies,
});

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => new Error('expected the handler to fail'),
    (e: unknown) => e,
  );

let corpus: LocalSearch;
beforeAll(async () => {
  corpus = await LocalSearch.open(DEFAULT_CORPUS_DIR);
});

describe('research step', () => {
  it('searches the topic and records the provider and its sources', async () => {
    const result = (await researchHandler(corpus)(task({ payload: { topic: 'skip locked claims', limit: 3 } }), context())) as ResearchResult;
    expect(result.topic).toBe('skip locked claims');
    expect(result.provider).toBe('local');
    expect(result.sources).toHaveLength(3);
    expect(result.sources[0]).toMatchObject({ title: 'PostgreSQL FOR UPDATE SKIP LOCKED', source: 'postgres-skip-locked.md' });
    expect(Object.keys(result.sources[0]!).sort()).toEqual(['score', 'snippet', 'source', 'title']);
  });

  it('takes the limit from the handler, then 5, when the payload gives none', async () => {
    const payload = { payload: { topic: 'queue retry lease backoff' } };
    expect(((await researchHandler(corpus)(task(payload), context())) as ResearchResult).sources).toHaveLength(5);
    expect(((await researchHandler(corpus, { limit: 2 })(task(payload), context())) as ResearchResult).sources).toHaveLength(2);
  });

  it('returns an empty source list when nothing matches', async () => {
    const result = await researchHandler(corpus)(task({ payload: { topic: 'xylophone quasar' } }), context());
    expect(result).toEqual({ topic: 'xylophone quasar', provider: 'local', sources: [] });
  });

  it("passes the task's signal to the provider", async () => {
    const controller = new AbortController();
    controller.abort(new Error('lease lost'));
    await expect(researchHandler(corpus)(task({ payload: { topic: 'lease' } }), context([], controller.signal))).rejects.toThrow('lease lost');
  });

  it.each([
    [{}, 'ORC_PROTOCOL_MISSING_FIELD', 'topic'],
    [{ topic: 42 }, 'ORC_PROTOCOL_WRONG_TYPE', 'topic'],
    [{ topic: '   ' }, 'ORC_PROTOCOL_OUT_OF_RANGE', 'topic'],
    [{ topic: 'x'.repeat(501) }, 'ORC_PROTOCOL_OUT_OF_RANGE', 'topic'],
    [{ topic: 'ok', limit: 21 }, 'ORC_PROTOCOL_OUT_OF_RANGE', 'limit'],
    [{ topic: 'ok', limit: 1.5 }, 'ORC_PROTOCOL_WRONG_TYPE', 'limit'],
    ['a string', 'ORC_PROTOCOL_WRONG_TYPE', '(root)'],
  ])('fails for good on payload %j, naming the field', async (payload, code, field) => {
    const err = await failureOf(researchHandler(corpus)(task({ payload }), context()));
    expect(err).toBeInstanceOf(NonRetryableError);
    expect(err).toMatchObject({ code, retryable: false, details: { field } });
    expect((err as Error).message).toContain(field);
  });
});

describe('write step', () => {
  let research: ResearchResult;
  beforeAll(async () => {
    research = (await researchHandler(corpus)(task({ payload: { topic: 'skip locked claims', limit: 3 } }), context())) as ResearchResult;
  });
  const writer = (dependsOn: string[], payload: unknown = { topic: 'Claiming tasks with SKIP LOCKED' }) =>
    task({ taskId: 'w-1', kind: WRITE_KIND, dependsOn, payload });

  it('writes a Markdown report with a summary, cited findings and the sources', async () => {
    const result = (await writeHandler()(writer(['r-1']), context([completed('r-1', research)]))) as {
      topic: string;
      report: string;
      sources: number;
      words: number;
    };
    const { report } = result;
    expect(result.topic).toBe('Claiming tasks with SKIP LOCKED');
    expect(result.sources).toBe(3);
    expect(report.startsWith('# Claiming tasks with SKIP LOCKED\n\nThis report draws on 3 sources found by local search.')).toBe(true);
    expect(report).toContain('\n## Findings\n');
    expect(report).toContain('\n## Sources\n');
    const findings = report.slice(report.indexOf('## Findings'), report.indexOf('## Sources'));
    research.sources.forEach((s, i) => {
      expect(findings).toContain(`- ${s.snippet} [${i + 1}]`);
      expect(report).toContain(`- [${i + 1}] ${s.title} — ${s.source}`);
    });
    expect(report).toContain('- [1] PostgreSQL FOR UPDATE SKIP LOCKED — postgres-skip-locked.md');
    const summary = report.split('\n')[2]!;
    expect(summary).toMatch(/\[1\].*\[2\].*\[3\]/);
    expect(result.words).toBe(report.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length);
    expect(result.words).toBeGreaterThan(50);
  });

  it('writes the same report from the same research', async () => {
    const run = () => writeHandler()(writer(['r-1']), context([completed('r-1', research)]));
    expect(await run()).toEqual(await run());
  });

  it('merges several research results in dependency order, citing each source once', async () => {
    const other: ResearchResult = {
      topic: 'fencing',
      provider: 'tavily',
      sources: [
        { title: 'Fencing on the web', source: 'https://example.test/fencing', snippet: 'Tokens only ever grow.', score: 0.9 },
        research.sources[0]!,
      ],
    };
    const result = (await writeHandler()(writer(['r-2', 'r-1']), context([completed('r-1', research), completed('r-2', other)]))) as {
      report: string;
      sources: number;
    };
    expect(result.sources).toBe(4);
    expect(result.report).toContain('found by tavily and local search');
    expect(result.report).toContain('- [1] Fencing on the web — https://example.test/fencing');
    expect(result.report).toContain('- [2] PostgreSQL FOR UPDATE SKIP LOCKED — postgres-skip-locked.md');
    expect(result.report.match(/postgres-skip-locked\.md/g)).toHaveLength(1);
  });

  it('fails for good with ORC_WORKLOAD_NO_SOURCES when research found nothing', async () => {
    const empty = { topic: 'xylophone quasar', provider: 'local', sources: [] };
    const err = await failureOf(writeHandler()(writer(['r-1'], { topic: 'xylophone quasar' }), context([completed('r-1', empty)])));
    expect(err).toBeInstanceOf(NonRetryableError);
    expect(err).toMatchObject({ code: 'ORC_WORKLOAD_NO_SOURCES', retryable: false });
    expect((err as Error).message).toContain('no sources');
  });

  it('fails with ORC_WORKLOAD_NO_SOURCES when it depends on no research at all', async () => {
    await expect(writeHandler()(writer([]), context([]))).rejects.toMatchObject({ code: 'ORC_WORKLOAD_NO_SOURCES' });
  });

  it('fails for good, naming the task, when a dependency did not produce a research result', async () => {
    const err = await failureOf(writeHandler()(writer(['r-1', 'build-7']), context([completed('r-1', research), completed('build-7', { exitCode: 0 }, 'build')])));
    expect(err).toBeInstanceOf(NonRetryableError);
    expect(err).toMatchObject({ retryable: false, details: { dependency: 'build-7' } });
    expect((err as Error).message).toMatch(/dependency build-7 \(kind build\) did not produce a research result: .*topic/);
  });

  it('fails for good on a payload without a topic', async () => {
    const err = await failureOf(writeHandler()(writer(['r-1'], { title: 'x' }), context([completed('r-1', research)])));
    expect(err).toBeInstanceOf(NonRetryableError);
    expect(err).toMatchObject({ code: 'ORC_PROTOCOL_MISSING_FIELD', details: { field: 'topic' } });
  });
});
