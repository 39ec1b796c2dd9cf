/**
 * Claim + complete throughput of the registry next to a raw baseline: a bare
 * FOR UPDATE SKIP LOCKED claim-and-complete loop written directly against the
 * same table on the same database, in the same run. Reported as ratios, since
 * absolute figures on a shared machine move from run to run.
 */
import { systemClock, createRng } from '../src/protocol/index.js';
import { migrate, openPglite, openPostgres, type Db } from '../src/store/index.js';
import { TaskRegistry } from '../src/registry/index.js';
import { fmt, printTable, timed } from './stats.js';

const RAW_CLAIM = `
SELECT task_id FROM tasks
WHERE status = 'PENDING' AND pending_dependencies = 0 AND kind = $1 AND run_at <= now()
ORDER BY priority, seq LIMIT $2 FOR UPDATE SKIP LOCKED`;
const RAW_COMPLETE = `UPDATE tasks SET status = 'COMPLETED', result = $2::jsonb, updated_at = now() WHERE task_id = ANY($1::text[])`;

interface Measure {
  backend: string;
  mode: string;
  rawPerSec: number;
  registryPerSec: number;
  combinedPerSec: number;
}

async function fill(registry: TaskRegistry, count: number): Promise<void> {
  for (let done = 0; done < count; done += 5000) {
    const n = Math.min(5000, count - done);
    await registry.registerMany(Array.from({ length: n }, (_, i) => ({ kind: 'bench', payload: { i: done + i }, priority: 1 + ((done + i) % 10) })));
  }
}

/** The raw loop: one transaction claims `batch` rows and completes them. */
async function rawLoop(db: Db, batch: number): Promise<number> {
  let done = 0;
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const rows = await tx.query<{ task_id: string }>(RAW_CLAIM, ['bench', batch]);
      if (rows.length) await tx.query(RAW_COMPLETE, [rows.map((r) => r.task_id), '{"ok":true}']);
      return rows.length;
    });
    if (n === 0) return done;
    done += n;
  }
}

/** The registry: claim with a lease, then complete with fencing, as a worker does. */
async function registryLoop(registry: TaskRegistry, batch: number, workerId: string): Promise<number> {
  let done = 0;
  for (;;) {
    const claimed = await registry.claim({ kinds: ['bench'], workerId, limit: batch });
    if (claimed.length === 0) return done;
    await registry.completeMany(claimed.map((t) => ({ taskId: t.taskId, attempt: t.attempt, workerId, result: { ok: true } })));
    done += claimed.length;
  }
}

/** The worker's steady state: each report also claims the next batch, in one statement. */
async function combinedLoop(registry: TaskRegistry, batch: number, workerId: string): Promise<number> {
  let done = 0;
  let claimed = await registry.claim({ kinds: ['bench'], workerId, limit: batch });
  while (claimed.length) {
    const next = await registry.completeAndClaim(
      claimed.map((t) => ({ taskId: t.taskId, attempt: t.attempt, workerId, result: { ok: true } })),
      { kinds: ['bench'], workerId, limit: batch },
    );
    done += claimed.length;
    claimed = next.claimed;
  }
  return done;
}

async function measure(db: Db, registry: TaskRegistry, count: number, batch: number, loops: number): Promise<{ raw: number; reg: number; combined: number }> {
  await db.query(`TRUNCATE tasks, task_dependencies, late_reports`);
  await fill(registry, count);
  const raw = await timed(() => Promise.all(Array.from({ length: loops }, () => rawLoop(db, batch))));
  await db.query(`TRUNCATE tasks, task_dependencies, late_reports`);
  await fill(registry, count);
  const reg = await timed(() => Promise.all(Array.from({ length: loops }, (_, i) => registryLoop(registry, batch, `w${i}`))));
  await db.query(`TRUNCATE tasks, task_dependencies, late_reports`);
  await fill(registry, count);
  const combined = await timed(() => Promise.all(Array.from({ length: loops }, (_, i) => combinedLoop(registry, batch, `w${i}`))));
  const drained = [raw, reg, combined].map((m) => m.value.reduce((a, b) => a + b, 0));
  if (drained.some((n) => n !== count)) throw new Error(`drained ${drained.join(' / ')} of ${count}`);
  return { raw: (count / raw.ms) * 1000, reg: (count / reg.ms) * 1000, combined: (count / combined.ms) * 1000 };
}

export async function registryThroughputBench(databaseUrl: string, options: { rounds: number; quick: boolean }): Promise<Measure[]> {
  const results: Measure[] = [];
  const schema = `bench_${process.pid}`;
  const backends: { name: string; open: () => Promise<Db>; loops: number }[] = [
    { name: 'PostgreSQL', open: () => openPostgres({ url: databaseUrl, schema, poolSize: 8 }), loops: 4 },
    { name: 'PGlite', open: () => openPglite({ dataDir: ':memory:', schema: 'orchestra' }), loops: 1 },
  ];
  for (const backend of backends) {
    const db = await backend.open();
    try {
      await migrate(db, systemClock.now());
      const registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1) });
      for (const [mode, batch, count] of [
        ['single', 1, options.quick ? 1000 : 4000],
        ['batch of 50', 50, options.quick ? 5000 : 40000],
      ] as const) {
        let raw = 0;
        let reg = 0;
        let combined = 0;
        // Alternate the two loops over several rounds and keep the best of each,
        // so a burst of load from elsewhere on the machine does not pick the winner.
        for (let round = 0; round < options.rounds; round++) {
          const m = await measure(db, registry, count, batch, backend.loops);
          raw = Math.max(raw, m.raw);
          reg = Math.max(reg, m.reg);
          combined = Math.max(combined, m.combined);
        }
        results.push({
          backend: backend.name,
          mode: `${mode}, ${backend.loops} loop${backend.loops > 1 ? 's' : ''}`,
          rawPerSec: raw,
          registryPerSec: reg,
          combinedPerSec: combined,
        });
      }
    } finally {
      if (db.backend === 'postgres') await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    }
  }
  printTable(
    'Registry claim + complete throughput (tasks/s, best of rounds)',
    ['backend', 'mode', 'raw SKIP LOCKED loop', 'claim, then complete', 'ratio', 'complete-and-claim (worker)', 'ratio'],
    results.map((r) => [
      r.backend,
      r.mode,
      fmt(r.rawPerSec),
      fmt(r.registryPerSec),
      `${fmt((r.registryPerSec / r.rawPerSec) * 100)} %`,
      fmt(r.combinedPerSec),
      `${fmt((r.combinedPerSec / r.rawPerSec) * 100)} %`,
    ]),
  );
  return results;
}
