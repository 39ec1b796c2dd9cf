import { describe, it, expect } from 'vitest';
import { campaignFinished, campaignMean, campaignRunAt, tallyCampaignRuns } from '../../src/evolution/index.js';

describe('the rules of a campaign', () => {
  it('runs at once without a rate, and spreads the runs at perMinute with one', () => {
    expect(campaignRunAt(1_000, 5, null)).toBeUndefined();
    expect([0, 1, 2, 3].map((n) => campaignRunAt(1_000, n, 4))).toEqual([1_000, 16_000, 31_000, 46_000]);
    expect(campaignRunAt(0, 1, 7)).toBe(Math.round(60_000 / 7));
  });

  it('tallies outcomes: a success with a value, a reported failure, a failed or cancelled run; waiting runs not at all', () => {
    const tally = tallyCampaignRuns([
      { status: 'COMPLETED', result: { success: true, value: 2 } },
      { status: 'COMPLETED', result: { success: true, value: 4 } },
      { status: 'COMPLETED', result: { success: false, value: null, reason: 'sensor offline' } },
      { status: 'COMPLETED', result: 'not a test result' },
      { status: 'FAILED', result: null },
      { status: 'CANCELLED', result: null },
      { status: 'PENDING', result: null },
      { status: 'RUNNING', result: null },
    ]);
    expect(tally).toEqual({ succeeded: 2, failed: 4, valueSum: 6 });
    expect(campaignMean(tally)).toBe(3);
    expect(campaignFinished(tally, 6)).toBe(true);
    expect(campaignFinished(tally, 8)).toBe(false);
    // Tallies add up over batches of runs.
    expect(tallyCampaignRuns([{ status: 'FAILED', result: null }], tally)).toEqual({ succeeded: 2, failed: 5, valueSum: 6 });
    expect(campaignMean({ succeeded: 0, failed: 3, valueSum: 0 })).toBeNull();
  });
});
