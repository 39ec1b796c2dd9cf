/**
 * `npm run bench`: every benchmark runs its baseline in the same run and
 * reports ratios. Options: `--quick` (smaller counts), `--only NAME[,NAME]`, `--fleet-bots N[,N]`.
 */
import { registryThroughputBench } from './registry-throughput.js';
import { claimAtScaleBench } from './claim-at-scale.js';
import { latencyBench } from './latency.js';
import { memoryBench } from './memory.js';
import { busBench } from './bus.js';
import { optimizerBench } from './optimizer/index.js';
import { apiBench } from './api.js';
import { fleetBench } from './fleet.js';
import { dashboardBench } from './dashboard.js';
import { drainBench } from './drain.js';
import { driftFalseAlarmsBench } from './drift-false-alarms.js';
import { optimizeOverheadBench } from './optimize-overhead.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args[args.indexOf('--only') + 1];
const only = args.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : null;
const wanted = (name: string) => !only || only.has(name);
/** `--fleet-bots 1000,10000`: the fleet sizes the fleet bench simulates (10,000 needs more descriptors than the usual 20,000: `ulimit -n 100000` first). */
const fleetBotsArg = args[args.indexOf('--fleet-bots') + 1];
const fleetBots = args.includes('--fleet-bots') && fleetBotsArg ? fleetBotsArg.split(',').map(Number) : undefined;

const suites: [string, () => Promise<unknown>][] = [
  ['throughput', () => registryThroughputBench(DATABASE_URL, { rounds: quick ? 1 : 3, quick })],
  ['scale', () => claimAtScaleBench(DATABASE_URL, { finished: quick ? 100_000 : 1_000_000 })],
  ['latency', () => latencyBench(DATABASE_URL, REDIS_URL, { count: quick ? 200 : 1000 })],
  ['memory', () => memoryBench(DATABASE_URL, { tasks: quick ? 20_000 : 200_000 })],
  ['bus', () => busBench(REDIS_URL, quick
    ? { calls: 1000, warmupCalls: 200, throughputCalls: 5_000, inFlight: 64 }
    : { calls: 5000, warmupCalls: 500, throughputCalls: 20_000, inFlight: 64 })],
  ['optimizer', () => optimizerBench({ quick })],
  ['optimize-overhead', () => optimizeOverheadBench({ budget: 200, repetitions: quick ? 1 : 3 })],
  ['api', () => apiBench(DATABASE_URL, quick
    ? { requests: 1000, inFlight: 16, sseClients: 100, eventsPerSecond: 1000, sseSeconds: 2 }
    : { requests: 5000, inFlight: 16, sseClients: 100, eventsPerSecond: 1000, sseSeconds: 5 })],
  ['dashboard', () => dashboardBench(DATABASE_URL, { tasks: 10_000, generations: 50, perGeneration: 100, rounds: quick ? 1 : 3 })],
  ['drain', () => drainBench(DATABASE_URL, REDIS_URL, quick ? { tasks: 5_000, repetitions: 1, latencySamples: 50 } : { tasks: 20_000, repetitions: 3, latencySamples: 200 })],
  ['drift-false-alarms', () => driftFalseAlarmsBench({ quick })],
  ['fleet', () => fleetBench(DATABASE_URL, { bots: fleetBots ?? (quick ? [1000] : [1000, 5000]), seconds: quick ? 10 : 20, heartbeatMs: 10_000 })],
];

console.log(`Orchestra benchmarks — node ${process.version}, DATABASE_URL ${DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}, REDIS_URL ${REDIS_URL}`);
for (const [name, run] of suites) {
  if (!wanted(name)) continue;
  await run();
}
