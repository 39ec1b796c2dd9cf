import type { Queryable } from '../db.js';

/** Params: none. Attempts that failed for running past their time limit, over the tasks still stored. */
const COUNT_TIMED_OUT_ATTEMPTS = `SELECT COALESCE(sum(timed_out_attempts), 0)::int AS count FROM tasks`;

export async function countTimedOutAttempts(db: Queryable): Promise<number> {
  const rows = await db.query<{ count: number }>(COUNT_TIMED_OUT_ATTEMPTS);
  return Number(rows[0]?.count ?? 0);
}
