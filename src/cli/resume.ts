import { botKind } from '../protocol/index.js';
import type { SweepReport } from '../registry/index.js';
import { listBots } from '../store/index.js';
import type { Runtime } from './runtime.js';

/** More than any fleet runs at once; a resumed study reclaims what it finds up to this. */
const MOST_HELD = 10_000;

/**
 * A study resumed in this process after its earlier run was killed: the tests
 * that run still held go back to the queue now, by the sweep's rule, instead
 * of after their leases run out (30 s by default, during which the resumed
 * run has nothing to do). Only those tasks: tests of this study, handed to
 * one of its bots, and held by that bot's worker (`bot.<id>:…`) of a run
 * that is not this one, which has not started its bots yet. Call it before
 * starting the study's agents.
 */
export async function reclaimEarlierRun(runtime: Runtime, studyId: string): Promise<SweepReport> {
  const kinds = (await listBots(runtime.db)).map((b) => botKind(b.botId));
  if (kinds.length === 0) return { requeued: [], failed: [] };
  const running = await runtime.registry.list({ status: ['RUNNING'], kind: kinds, limit: MOST_HELD });
  const held = running.filter((t) => t.workerId?.startsWith(`${t.kind}:`) && studyOf(t.payload) === studyId);
  return runtime.registry.expire(held.map((t) => ({ taskId: t.taskId, attempt: t.attempt })));
}

function studyOf(payload: unknown): unknown {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>)['studyId'] : undefined;
}
