/**
 * A claim must stay fast however many finished tasks the table holds: the
 * claim index only covers runnable tasks. Measures claim + complete of the same
 * pending work on an empty table and on one holding a million finished tasks.
 */
import { systemClock, createRng } from '../src/protocol/index.js';
import { migrate, openPostgres } from '../src/store/index.js';
import { TaskRegistry } from '../src/registry/index.js';
import { fmt, percentile, printTable } from './stats.js';

const FILL_FINISHED = `
INSERT INTO tasks (task_id, kind, status, payload, priority, max_attempts, run_at, created_at, updated_at, result, attempt)
SELECT 'done-' || g, CASE WHEN g % 2 = 0 THEN 'bench' ELSE 'other' END, 'COMPLETED', '{}'::jsonb, 1 + g % 10, 3,
       now(), now(), now(), '{"ok":true}'::jsonb, 1
FROM generate_series($1::int, $2::int) AS g`;

async function claimLatencies(registry: TaskRegistry, pending: number): Promise<number[]> {
  await registry.registerMany(Array.from({ length: pending }, (_, i) => ({ kind: 'bench', priority: 1 + (i % 10) })));
  const latencies: number[] = [];
  for (;;) {
    const start = performance.now();
    const claimed = await registry.claim({ kinds: ['bench'], workerId: 'w', limit: 10 });
    latencies.push(performance.now() - start);
    if (claimed.length === 0) break;
    await registry.completeMany(claimed.map((t) => ({ taskId: t.taskId, attempt: t.attempt })));
  }
  return latencies.sort((a, b) => a - b);
}

export async function claimAtScaleBench(databaseUrl: string, options: { finished: number }): Promise<{ ratio: number }> {
  const schema = `bench_scale_${process.pid}`;
  const db = await openPostgres({ url: databaseUrl, schema, poolSize: 4 });
  try {
    await migrate(db, systemClock.now());
    const registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1) });
    const empty = await claimLatencies(registry, 2000);
    await db.query(`TRUNCATE tasks, task_dependencies, late_reports`);
    for (let from = 1; from <= options.finished; from += 250_000) {
      await db.query(FILL_FINISHED, [from, Math.min(options.finished, from + 249_999)]);
    }
    await db.query(`ANALYZE tasks`);
    const full = await claimLatencies(registry, 2000);
    const rows: (string | number)[][] = [
      ['empty table', fmt(percentile(empty, 50), 2), fmt(percentile(empty, 99), 2)],
      [`${fmt(options.finished)} finished tasks`, fmt(percentile(full, 50), 2), fmt(percentile(full, 99), 2)],
    ];
    printTable('Claim of 10 tasks with finished tasks in the table (ms)', ['table holds', 'p50', 'p99'], rows);
    const ratio = percentile(full, 50) / percentile(empty, 50);
    console.log(`\nclaim p50 with ${fmt(options.finished)} finished / empty: ${fmt(ratio, 2)}×`);
    return { ratio };
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
  }
}
