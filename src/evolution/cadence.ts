import { CronExpressionParser } from 'cron-parser';

/**
 * When generations start. Unset: as soon as the last one's tests are scored.
 * A cron expression (five fields, or six with seconds first, or an alias such
 * as `@daily`; times in UTC):
 * at its first time after the last generation was scored — `0 0 * * *` runs
 * one generation a day at midnight. A study that was stopped for longer than a
 * period starts its next generation at once rather than catching up on the
 * ones it missed.
 */
export function nextGenerationAt(cadence: string | undefined, lastScoredAtMs: number): number {
  if (cadence === undefined) return lastScoredAtMs;
  return CronExpressionParser.parse(cadence, { currentDate: new Date(lastScoredAtMs), tz: 'UTC' }).next().getTime();
}

/** Why `text` is not a cron expression the cadence accepts; undefined when it is one. */
export function cadenceProblem(text: string): string | undefined {
  const fields = text.trim().split(/\s+/).length;
  if (!text.trim().startsWith('@') && fields !== 5 && fields !== 6) return `a cron expression has 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first); "${text}" has ${fields}`;
  try {
    CronExpressionParser.parse(text, { tz: 'UTC', strict: false });
    return undefined;
  } catch (err) {
    return `"${text}" is not a cron expression: ${(err as Error).message}`;
  }
}
