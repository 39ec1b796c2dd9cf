import { OrchestraError } from '../../protocol/index.js';
import { bestView, botsView, campaignsView, generationsView, resolveStudy, type GenerationView } from '../../api/index.js';
import { DataDirLockedError, type BotRow, type CampaignRow, type Db } from '../../store/index.js';
import type { StudyBest } from '../../agents/index.js';
import { openReader } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { formatNumber, iso, successEstimate, table } from '../format.js';
import { ApiClient } from '../api-client.js';
import { readLocalApi } from '../local-api.js';

export interface InspectOptions {
  study?: string;
  json?: boolean;
}

/** What the inspecting commands read: the same views from the store, or from the API of the process that holds it. */
interface Reads {
  /** `--study`, checked, or the study most recently changed. */
  study(studyId: string | undefined): Promise<string>;
  generations(studyId: string): Promise<{ studyId: string; generations: GenerationView[] }>;
  best(studyId: string): Promise<StudyBest | null>;
  bots(studyId: string | undefined): Promise<{ studyId?: string; bots: BotRow[] }>;
  campaigns(studyId: string | undefined): Promise<{ studyId?: string; campaigns: CampaignRow[] }>;
}

function storeReads(db: Db): Reads {
  return {
    study: (studyId) => resolveStudy(db, studyId),
    generations: (studyId) => generationsView(db, studyId),
    best: (studyId) => bestView(db, studyId),
    bots: (studyId) => botsView(db, studyId),
    campaigns: (studyId) => campaignsView(db, studyId),
  };
}

function apiReads(api: ApiClient): Reads {
  const query = (studyId: string | undefined) => (studyId === undefined ? '' : `?study=${encodeURIComponent(studyId)}`);
  const path = (studyId: string) => `/api/studies/${encodeURIComponent(studyId)}`;
  return {
    study: (studyId) => api.study(studyId),
    generations: (studyId) => api.get(`${path(studyId)}/generations`),
    best: async (studyId) => (await api.get<{ best: StudyBest | null }>(`${path(studyId)}/best`)).best,
    bots: (studyId) => api.get(`/api/bots${query(studyId)}`),
    campaigns: (studyId) => api.get(`/api/campaigns${query(studyId)}`),
  };
}

/**
 * The commands that show a running or finished system read the store alone:
 * no bus, no agent needs to be up. When a running process holds the embedded
 * data folder and serves the API, they read through that API instead.
 */
function withReads<T>(globals: GlobalFlags, io: CliIo, command: string, read: (reads: Reads) => Promise<T>): Promise<T> {
  return readStoreOrHolder(globals, io, command, (runtime) => read(storeReads(runtime.db)), (api) => read(apiReads(api)));
}

/**
 * Reads the store; when a running process holds the embedded data folder and
 * serves the API, reads through that API instead, saying so.
 */
export async function readStoreOrHolder<T>(
  globals: GlobalFlags,
  io: CliIo,
  command: string,
  fromStore: (runtime: Awaited<ReturnType<typeof openReader>>) => Promise<T>,
  fromApi: (api: ApiClient) => Promise<T>,
): Promise<T> {
  const config = loadConfig(globals, io);
  let runtime: Awaited<ReturnType<typeof openReader>>;
  try {
    runtime = await openReader(config, command);
  } catch (err) {
    return readThroughHolder(io, err, fromApi);
  }
  try {
    return await fromStore(runtime);
  } finally {
    await runtime.close();
  }
}

/**
 * When `refusal` says a running process holds the embedded data folder and
 * that process serves the API, reads through it, saying so; otherwise the
 * refusal stands.
 */
export async function readThroughHolder<T>(io: CliIo, refusal: unknown, fromApi: (api: ApiClient) => Promise<T>): Promise<T> {
  const held = refusal instanceof DataDirLockedError ? refusal : refusal instanceof OrchestraError && refusal.cause instanceof DataDirLockedError ? refusal.cause : undefined;
  const api = held && readLocalApi(held.dataDir, held.ownerPid);
  if (!api) throw refusal;
  io.stderr.write(`orchestra: process ${held.ownerPid} holds the data folder; reading through its API at ${api.url}\n`);
  try {
    return await fromApi(new ApiClient(api));
  } catch (failure) {
    // The process went away in between (its API refused the connection): the folder's refusal is the answer.
    if (failure instanceof OrchestraError && failure.code !== 'ORC_CLI_NO_RUNNING_SYSTEM') throw failure;
    throw refusal;
  }
}

export async function generationsCommand(globals: GlobalFlags, options: InspectOptions, io: CliIo): Promise<void> {
  await withReads(globals, io, 'generations', async (reads) => {
    const view = await reads.generations(await reads.study(options.study));
    const rows = view.generations;
    if (options.json) return printJson(io, view);
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
  await withReads(globals, io, 'best', async (reads) => {
    const studyId = await reads.study(options.study);
    const best = await reads.best(studyId);
    if (options.json) return printJson(io, best);
    if (!best) return print(io, `study ${studyId}: no combination has succeeded yet`);
    print(
      io,
      [
        `study ${studyId}: ${best.key}`,
        `  score ${best.score.toFixed(3)} · value ${formatNumber(best.value)} · success ${(best.successRate * 100).toFixed(0)} % over ${best.tests} tests${successEstimate(best)} · ${best.classification}`,
        ...Object.entries(best.metrics).map(([k, v]) => `  ${k}: ${formatNumber(v)}`),
      ].join('\n'),
    );
  });
}

export async function botsCommand(globals: GlobalFlags, options: InspectOptions, io: CliIo): Promise<void> {
  await withReads(globals, io, 'bots', async (reads) => {
    // The fleet serves every study; with --study, the bots that ran its tests.
    const studyId = options.study === undefined ? undefined : await reads.study(options.study);
    const view = await reads.bots(studyId);
    const { bots } = view;
    if (options.json) return printJson(io, view);
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
  await withReads(globals, io, 'campaigns', async (reads) => {
    const studyId = options.study === undefined ? undefined : await reads.study(options.study);
    const view = await reads.campaigns(studyId);
    const { campaigns } = view;
    if (options.json) return printJson(io, view);
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
