import { describe, it, expect } from 'vitest';
import { cadenceProblem, nextGenerationAt } from '../../src/evolution/index.js';

const at = (iso: string) => Date.parse(iso);

describe('the cadence of generations', () => {
  it('starts the next generation at once when no cron expression is set', () => {
    expect(nextGenerationAt(undefined, at('2026-01-01T05:30:00Z'))).toBe(at('2026-01-01T05:30:00Z'));
  });

  it('starts it at the first time of the expression after the last generation was scored, in UTC', () => {
    expect(nextGenerationAt('0 0 * * *', at('2026-01-01T05:30:00Z'))).toBe(at('2026-01-02T00:00:00Z'));
    expect(nextGenerationAt('@daily', at('2026-01-01T05:30:00Z'))).toBe(at('2026-01-02T00:00:00Z'));
    expect(nextGenerationAt('*/15 * * * *', at('2026-01-01T05:30:00Z'))).toBe(at('2026-01-01T05:45:00Z'));
    expect(nextGenerationAt('*/10 * * * * *', at('2026-01-01T05:30:01Z'))).toBe(at('2026-01-01T05:30:10Z'));
    // Scored on the dot: the next time is the next period, not the same instant.
    expect(nextGenerationAt('0 0 * * *', at('2026-01-02T00:00:00Z'))).toBe(at('2026-01-03T00:00:00Z'));
  });

  it('accepts cron expressions and says what is wrong with anything else', () => {
    for (const ok of ['0 0 * * *', '*/5 * * * *', '0 */2 * * 1-5', '30 0 0 * * *', '@hourly']) expect(cadenceProblem(ok)).toBeUndefined();
    expect(cadenceProblem('* * *')).toMatch(/has 3/);
    expect(cadenceProblem('61 * * * *')).toMatch(/"61 \* \* \* \*" is not a cron expression: .*0-59/);
    expect(cadenceProblem('0 0 31 2 *')).toMatch(/not a cron expression/);
    expect(cadenceProblem('daily')).toMatch(/has 1/);
  });
});
