import {
  getGeneration,
  getStudy,
  listBots,
  listCampaigns,
  listCombinations,
  listGenerations,
  listResults,
  listStudies,
  countResultsByKey,
  countUnfinishedByKind,
  type BotRow,
  type CampaignRow,
  type CombinationRow,
  type Db,
} from '../store/index.js';
import { botKind, OrchestraError } from '../protocol/index.js';
import { bestOf, type StudyBest } from '../agents/index.js';

/**
 * What the system shows of itself, read from the store: one function per
 * view, which `GET /api/…` answers and the command line prints (its `--json`
 * is the same object), so the two never disagree.
 */

export const noStudyYet = (): OrchestraError => new OrchestraError('ORC_AGENT_NOT_FOUND', 'this store holds no study yet: run orchestra start (or optimize with --data)');

export interface GenerationView {
  generation: number;
  state: string;
  tests: number;
  testsDone: number;
  failed: number;
  bestScore: number | null;
  bestValue: number | null;
  environmentChange: boolean;
  createdAt: number;
}

/**
 * The study asked for, checked against the store, or without one the study
 * most recently changed. A study named but absent is an error naming the
 * studies that exist: a mistyped id must not read as a study with nothing in it yet.
 */
export async function resolveStudy(db: Db, studyId: string | undefined): Promise<string> {
  const studies = await listStudies(db);
  if (studyId === undefined) {
    const latest = studies.sort((a, b) => b.updatedAt - a.updatedAt)[0];
    if (!latest) throw noStudyYet();
    return latest.studyId;
  }
  if (await getStudy(db, studyId)) return studyId;
  const known = studies.map((s) => s.studyId);
  throw new OrchestraError(
    'ORC_CLI_STUDY_NOT_FOUND',
    `no study "${studyId}" in this store; ${known.length ? `it holds: ${known.join(', ')}` : 'it holds no study yet (run orchestra start, or optimize with --data)'}`,
  );
}

export async function generationsView(db: Db, studyId: string): Promise<{ studyId: string; generations: GenerationView[] }> {
  const results = await listResults(db, studyId);
  const generations = (await listGenerations(db, studyId)).map((g) => {
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
  return { studyId, generations };
}

export interface CombinationView extends CombinationRow {
  /** Its evaluations since the study's last environment change (all of them before any), failures included. */
  tests: number;
  /** Of those, the ones that succeeded with a value. */
  successes: number;
  /** successes / tests; null while untested. */
  successRate: number | null;
}

/**
 * A study's combinations, best first, each with its tests and success rate;
 * with `generation`, only those that generation tests. A generation the
 * study does not have is an error naming the ones it has.
 */
export async function combinationsView(db: Db, studyId: string, generation?: number): Promise<{ studyId: string; generation?: number; combinations: CombinationView[] }> {
  let keys: Set<string> | undefined;
  if (generation !== undefined) {
    const planned = await getGeneration(db, studyId, generation);
    if (!planned) {
      const known = (await listGenerations(db, studyId)).map((g) => g.generation);
      const range = known.length ? `it has generations ${known[0]} to ${known.at(-1)}` : 'it has no generation yet';
      throw new OrchestraError('ORC_AGENT_NOT_FOUND', `study ${studyId} has no generation ${generation}: ${range}`);
    }
    keys = new Set(planned.tests.map((t) => t.key));
  }
  const counts = await countResultsByKey(db, studyId, (await getStudy(db, studyId))?.exploreFrom ?? 0);
  const combinations = (await listCombinations(db, studyId))
    .filter((c) => !keys || keys.has(c.key))
    .map((c) => {
      const { tests, successes } = counts.get(c.key) ?? { tests: 0, successes: 0 };
      return { ...c, tests, successes, successRate: tests ? successes / tests : null };
    });
  return generation === undefined ? { studyId, combinations } : { studyId, generation, combinations };
}

/** The one recommendation (see `bestOf`), or null while nothing has succeeded. */
export async function bestView(db: Db, studyId: string): Promise<StudyBest | null> {
  return bestOf(db, studyId);
}

export interface BotView extends BotRow {
  /** Tasks in hand: handed to it and not finished, waiting or running (what the fleet's load counts). */
  tasks: number;
  /** Of those, the ones it runs now. */
  running: number;
}

/** The fleet, each bot with the tasks in its hand; with a study, the bots that ran its tests. */
export async function botsView(db: Db, studyId?: string): Promise<{ studyId?: string; bots: BotView[] }> {
  const testedBy = studyId === undefined ? undefined : new Set((await listResults(db, studyId)).map((r) => r.botId));
  const rows = (await listBots(db)).filter((b) => !testedBy || testedBy.has(b.botId));
  const held = new Map<string, { tasks: number; running: number }>();
  for (const c of await countUnfinishedByKind(db, rows.map((b) => botKind(b.botId)))) {
    const h = held.get(c.kind) ?? { tasks: 0, running: 0 };
    h.tasks += c.count;
    if (c.status === 'RUNNING') h.running += c.count;
    held.set(c.kind, h);
  }
  const bots = rows.map((b) => ({ ...b, ...(held.get(botKind(b.botId)) ?? { tasks: 0, running: 0 }) }));
  return studyId === undefined ? { bots } : { studyId, bots };
}

export async function campaignsView(db: Db, studyId?: string): Promise<{ studyId?: string; campaigns: CampaignRow[] }> {
  const campaigns = (await listCampaigns(db)).filter((c) => studyId === undefined || c.studyId === studyId);
  return studyId === undefined ? { campaigns } : { studyId, campaigns };
}
