import { testResultSchema, type JsonValue, type TaskStatus } from '../protocol/index.js';

/**
 * The rules of a campaign (the best combination run a given number of times,
 * or at a rate): when each run is due, and its progress from the runs'
 * outcomes. Pure: the campaign agent reads the runs, calls these, and writes.
 */

/** When run `n` (from 0) of a campaign started at `startMs` is due: at once, or spread at `perMinute`. */
export function campaignRunAt(startMs: number, n: number, perMinute: number | null | undefined): number | undefined {
  return perMinute ? Math.round(startMs + (n * 60_000) / perMinute) : undefined;
}

export interface CampaignTally {
  succeeded: number;
  failed: number;
  /** Sum of the values of the runs that succeeded: their mean is `valueSum / succeeded`. */
  valueSum: number;
}

/**
 * Adds runs to a tally: a completed run whose result is a success with a
 * value counts as succeeded; a completed run that reports a failure, and a
 * failed or cancelled run, as failed; a run still waiting or running, not at all.
 */
export function tallyCampaignRuns(runs: readonly { status: TaskStatus; result: JsonValue | null }[], into: CampaignTally = { succeeded: 0, failed: 0, valueSum: 0 }): CampaignTally {
  const tally = { ...into };
  for (const run of runs) {
    if (run.status === 'COMPLETED') {
      const r = testResultSchema.safeParse(run.result);
      if (r.success && r.data.success && r.data.value !== null) {
        tally.succeeded++;
        tally.valueSum += r.data.value;
      } else tally.failed++;
    } else if (run.status === 'FAILED' || run.status === 'CANCELLED') tally.failed++;
  }
  return tally;
}

/** A campaign is finished once every one of its runs has an outcome. */
export const campaignFinished = (tally: CampaignTally, runs: number): boolean => tally.succeeded + tally.failed >= runs;

/** The mean value of the runs that succeeded, or null before one has. */
export const campaignMean = (tally: CampaignTally): number | null => (tally.succeeded ? tally.valueSum / tally.succeeded : null);
