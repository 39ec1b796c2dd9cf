/**
 * Do the variable agent (`get_best_combination`, as a campaign asks it) and
 * the command line (`orchestra best --json`) recommend the same combination
 * on the same stored study? Seeded histories of four kinds (noisy, failing,
 * drifting, deterministic) are written to an in-memory PGlite store; for
 * each, the agent is asked over the memory bus and the command's function
 * reads the store, and the two answers are compared by combination key.
 *
 *   node --import tsx bench/recommendation-agreement.ts [--histories 300] [--seed 1]
 *
 * Everything is seeded: the same command prints the same figures.
 */
import { parseArgs } from 'node:util';
import { createRng, getBestCombinationRequest, systemClock } from '../src/protocol/index.js';
import { createMemoryBus } from '../src/bus/index.js';
import { IN_MEMORY, migrate, openPglite } from '../src/store/index.js';
import { TaskRegistry } from '../src/registry/index.js';
import { BaseAgent, VariableAgent } from '../src/agents/index.js';
import { parseSpace } from '../src/evolution/index.js';
import { bestOf } from '../src/agents/index.js';
import { HISTORY_KINDS, SYNTHETIC_SPACE, writeHistory, type HistoryKind } from './study-histories.js';

const { values } = parseArgs({ options: { histories: { type: 'string', default: '300' }, seed: { type: 'string', default: '1' } } });
const histories = Number(values.histories);
const firstSeed = Number(values.seed);
if (!Number.isInteger(histories) || histories < 1) throw new Error('--histories must be a positive whole number');

const NOW = Date.UTC(2026, 0, 1);
const clock = systemClock;
const db = await openPglite({ dataDir: IN_MEMORY, schema: 'orchestra' });
await migrate(db, NOW);
const bus = createMemoryBus({ clock });
const registry = new TaskRegistry({ db, clock, rng: createRng(1), bus });
/** Asks as the campaign agent does. */
class Asker extends BaseAgent {}
const asker = new Asker('campaigns', 'campaigns', { bus, clock });
await asker.start();

const tally = new Map<HistoryKind, { histories: number; agree: number }>(HISTORY_KINDS.map((k) => [k, { histories: 0, agree: 0 }]));
const disagreements: string[] = [];
let none = 0;
let fellBack = 0;
const startedAt = performance.now();
for (let i = 0; i < histories; i++) {
  const kind = HISTORY_KINDS[i % HISTORY_KINDS.length]!;
  const studyId = `h${i}`;
  const seed = firstSeed * 100_003 + i;
  await writeHistory(db, { studyId, seed, kind, nowMs: NOW });
  const agent = new VariableAgent({ bus, clock, db, registry, studyId, workload: 'synthetic', space: parseSpace(SYNTHETIC_SPACE) });
  await agent.start();
  let fromAgent: string | null;
  try {
    fromAgent = (await asker.sendRequest(getBestCombinationRequest, {}))?.key ?? null;
  } finally {
    await agent.stop();
  }
  const printed = (await bestOf(db, studyId)) as { key: string; fellBack?: boolean } | null;
  const fromCli = printed?.key ?? null;
  if (!printed) none++;
  else if (printed.fellBack) fellBack++;
  const t = tally.get(kind)!;
  t.histories++;
  if (fromAgent === fromCli) t.agree++;
  else if (disagreements.length < 5) disagreements.push(`${studyId} (${kind}, seed ${seed}): agent ${fromAgent ?? 'none'} · best --json ${fromCli ?? 'none'}`);
}
await asker.stop();
await bus.close();
await db.close();

const pct = (a: number, n: number) => `${((100 * a) / n).toFixed(1)} %`;
console.log(`recommendation agreement, get_best_combination vs best --json, ${histories} seeded histories (${((performance.now() - startedAt) / 1000).toFixed(1)} s)`);
let agree = 0;
for (const [kind, t] of tally) {
  if (!t.histories) continue;
  agree += t.agree;
  console.log(`  ${kind.padEnd(14)} ${String(t.agree).padStart(4)}/${String(t.histories).padEnd(4)} agree  ${pct(t.agree, t.histories)}`);
}
console.log(`  ${'all'.padEnd(14)} ${String(agree).padStart(4)}/${String(histories).padEnd(4)} agree  ${pct(agree, histories)}`);
console.log(`  best --json: ${fellBack} fell back (no combination met the success rate), ${none} none`);
for (const d of disagreements) console.log(`  e.g. ${d}`);
