import type { JsonValue } from '../../protocol/index.js';
import { listBots, listCampaigns, listGenerations, listResults } from '../../store/index.js';
import { openReader, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { formatNumber, iso, table } from '../format.js';
import { bestOf } from '../study.js';
import { studyFromFlag } from '../study-lookup.js';

export interface InspectOptions {
  study?: string;
  json?: boolean;
}

/** The commands that show a running or finished system read the store alone: no bus, no agent needs to be up. */
async function withStore<T>(globals: GlobalFlags, io: CliIo, command: string, read: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openReader(loadConfig(globals, io), command);
  try {
    return await read(runtime);
  } finally {
    await runtime.close();
  }
}

export async function generationsCommand(globals: GlobalFlags, options: InspectOptions, io: CliIo): Promise<void> {
  await withStore(globals, io, 'generations', async ({ db }) => {
    const studyId = await studyFromFlag(db, options.study);
    const results = await listResults(db, studyId);
    const rows = (await listGenerations(db, studyId)).map((g) => {
      const mine = results.filter((r) => r.generation === g.generation);
      const stats = (g.stats ?? {}) as { best?: { score?: number; mean?: number | null } | null; environmentChange?: boolean };
      return {
        generation: g.generation,
        state: g.state,
        tests: g.tests.length,
        testsDone: mine.length,
        failed: mine.filter((r) => !r.success).length,
        bestScore: stats.best?.score ?? null,
        bestValue: stats.best?.mean ?? null,
        environmentChange: stats.environmentChange ?? false,
        createdAt: g.createdAt,
      };
    });
    if (options.json) return printJson(io, { studyId, generations: rows });
    print(
      io,
      table(
        ['GEN', 'STATE', 'TESTS', 'DONE', 'FAILED', 'BEST SCORE', 'BEST VALUE', 'CREATED'],
        rows.map((r) => [
          String(r.generation) + (r.environmentChange ? ' (change)' : ''),
          r.state,
          String(r.tests),
          String(r.testsDone),
          String(r.failed),
          r.bestScore === null ? '-' : r.bestScore.toFixed(3),
          formatNumber(r.bestValue),
          iso(r.createdAt),
        ]),
      ),
    );
  });
}

export async function bestCommand(globals: GlobalFlags, options: InspectOptions, io: CliIo): Promise<void> {
  await withStore(globals, io, 'best', async ({ db }) => {
    const studyId = await studyFromFlag(db, options.study);
    const best = await bestOf(db, studyId);
    if (options.json) return printJson(io, best as unknown as JsonValue);
    if (!best) return print(io, `study ${studyId}: no combination has succeeded yet`);
    print(
      io,
      [
        `study ${studyId}: ${best.key}`,
        `  score ${best.score.toFixed(3)} · value ${formatNumber(best.value)} · success ${(best.successRate * 100).toFixed(0)} % over ${best.tests} tests · ${best.classification}`,
        ...Object.entries(best.metrics).map(([k, v]) => `  ${k}: ${formatNumber(v)}`),
      ].join('\n'),
    );
  });
}

export async function botsCommand(globals: GlobalFlags, options: InspectOptions, io: CliIo): Promise<void> {
  await withStore(globals, io, 'bots', async ({ db }) => {
    // The fleet serves every study; with --study, the bots that ran its tests.
    const studyId = options.study === undefined ? undefined : await studyFromFlag(db, options.study);
    const testedBy = studyId === undefined ? undefined : new Set((await listResults(db, studyId)).map((r) => r.botId));
    const bots = (await listBots(db)).filter((b) => !testedBy || testedBy.has(b.botId));
    if (options.json) return printJson(io, studyId === undefined ? { bots } : { studyId, bots });
    if (bots.length === 0) return print(io, studyId === undefined ? 'no bots registered' : `no bot has run a test of study ${studyId}`);
    print(
      io,
      table(
        ['BOT', 'STATE', 'SUCCESS', 'DONE', 'FAILED', 'RESTARTS', 'LAST HEARTBEAT', 'REASON'],
        bots.map((b) => [b.botId, b.state, b.successRate.toFixed(3), String(b.completed), String(b.failed), String(b.restarts), iso(b.lastHeartbeatAt), (b.reason ?? '').slice(0, 60)]),
      ),
    );
  });
}

export async function campaignsCommand(globals: GlobalFlags, options: InspectOptions, io: CliIo): Promise<void> {
  await withStore(globals, io, 'campaigns', async ({ db }) => {
    const studyId = options.study === undefined ? undefined : await studyFromFlag(db, options.study);
    const campaigns = (await listCampaigns(db)).filter((c) => studyId === undefined || c.studyId === studyId);
    if (options.json) return printJson(io, studyId === undefined ? { campaigns } : { studyId, campaigns });
    if (campaigns.length === 0) return print(io, studyId === undefined ? 'no campaigns' : `no campaigns of study ${studyId}`);
    print(
      io,
      table(
        ['CAMPAIGN', 'STUDY', 'STATE', 'RUNS', 'DONE', 'SUCCEEDED', 'MEAN VALUE'],
        campaigns.map((c) => [
          c.campaignId,
          c.studyId,
          c.state,
          String(c.runs),
          String(c.succeeded + c.failed),
          String(c.succeeded),
          c.succeeded ? formatNumber(c.valueSum / c.succeeded) : '-',
        ]),
      ),
    );
  });
}
