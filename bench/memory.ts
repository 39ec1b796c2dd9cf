/**
 * Memory stays flat over a long run: 200,000 tasks registered in waves and
 * run by a worker in this process, with the resident set size sampled as the
 * run goes, after a full garbage collection. The baseline is the process's
 * own size after the first wave.
 */
import { systemClock, createRng } from '../src/protocol/index.js';
import { migrate, openPostgres } from '../src/store/index.js';
import { TaskRegistry } from '../src/registry/index.js';
import { createMemoryBus } from '../src/bus/index.js';
import { TaskWorker } from '../src/agents/index.js';
import { fmt, printTable } from './stats.js';

const MB = 1024 * 1024;

export async function memoryBench(databaseUrl: string, options: { tasks: number }): Promise<{ growthMb: number }> {
  const schema = `bench_memory_${process.pid}`;
  const db = await openPostgres({ url: databaseUrl, schema, poolSize: 8 });
  const bus = createMemoryBus({ clock: systemClock });
  try {
    await migrate(db, systemClock.now());
    const registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1), bus });
    const worker = new TaskWorker({
      registry,
      bus,
      clock: systemClock,
      config: { concurrency: 32, pollIntervalMs: 100, sweepIntervalMs: 0 },
      handlers: { bench: async (task) => ({ echoed: (task.payload as { i: number }).i }) },
    });
    await worker.start();
    const wave = 5_000;
    const samples: [number, number][] = [];
    const started = performance.now();
    for (let done = 0; done < options.tasks; done += wave) {
      await registry.registerMany(Array.from({ length: wave }, (_, i) => ({ kind: 'bench', payload: { i: done + i } })));
      while (worker.stats.completed < done + wave) await new Promise((r) => setTimeout(r, 20));
      // Sampled after a full collection (npm run bench passes --expose-gc): what
      // is measured is memory the run keeps, not garbage not yet collected.
      (globalThis as { gc?: () => void }).gc?.();
      samples.push([done + wave, process.memoryUsage().rss]);
    }
    await worker.stop({ graceMs: 1000 });
    const seconds = (performance.now() - started) / 1000;
    const base = samples[0]![1];
    const peak = Math.max(...samples.map(([, rss]) => rss));
    const last = samples.at(-1)![1];
    const picks = [0, Math.floor(samples.length / 4), Math.floor(samples.length / 2), Math.floor((3 * samples.length) / 4), samples.length - 1];
    printTable(
      `Resident memory over ${fmt(options.tasks)} tasks (${fmt(options.tasks / seconds)} tasks/s, PostgreSQL, memory bus)`,
      ['tasks done', 'RSS (MB)', 'vs first wave (MB)'],
      [...new Set(picks)].map((i) => [fmt(samples[i]![0]), fmt(samples[i]![1] / MB, 1), fmt((samples[i]![1] - base) / MB, 1)]),
    );
    console.log(`\nRSS growth after the first wave: ${fmt((last - base) / MB, 1)} MB (peak ${fmt((peak - base) / MB, 1)} MB)`);
    return { growthMb: (peak - base) / MB };
  } finally {
    await bus.close();
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
  }
}
