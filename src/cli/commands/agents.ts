import { OrchestratorAgent } from '../../agents/index.js';
import type { Bus } from '../../bus/index.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { CliClient } from '../client.js';
import { iso, table } from '../format.js';
import { ANSWER_TIMEOUT_MS } from '../defaults.js';
import type { ListedAgent } from '../../protocol/index.js';
import { readThroughHolder } from './inspect.js';

export interface AgentsOptions {
  json?: boolean;
  timeoutMs?: number;
}

/**
 * Lists the agents of the running system, as the orchestrator knows them.
 * With the embedded default no other process shares this bus, so the command
 * starts an orchestrator of its own over the same store: it lists what was
 * recorded there (agents that did not stop cleanly show as silent).
 */
export async function agentsCommand(globals: GlobalFlags, options: AgentsOptions, io: CliIo): Promise<void> {
  const config = loadConfig(globals, io);
  let runtime: Runtime & { bus: Bus };
  try {
    runtime = (await openRuntime(config)) as Runtime & { bus: Bus };
  } catch (err) {
    // A running `start` holds the embedded data folder: its own orchestrator answers through its API.
    const { agents } = await readThroughHolder(io, err, (api) => api.get<{ agents: ListedAgent[] }>('/api/agents'));
    return show(io, agents, options);
  }
  const embedded = !config.bus.redisUrl;
  const local = embedded ? new OrchestratorAgent({ bus: runtime.bus, clock: runtime.clock, db: runtime.db, registry: runtime.registry, presence: false }) : undefined;
  const client = new CliClient(runtime);
  try {
    await local?.start();
    await client.start();
    const agents = (await client.listAgents(options.timeoutMs ?? ANSWER_TIMEOUT_MS)).filter((a) => a.instanceId !== local?.instanceId);
    if (embedded && !options.json) io.stderr.write(`orchestra: embedded mode: agents recorded in ${config.store.dataDir}\n`);
    show(io, agents, options);
  } finally {
    await client.stop();
    await local?.stop();
    await runtime.close();
  }
}

function show(io: CliIo, agents: ListedAgent[], options: AgentsOptions): void {
  if (options.json) return printJson(io, { agents });
  if (agents.length === 0) return print(io, 'no agents recorded');
  print(
    io,
    table(
      ['AGENT', 'ROLE', 'STATE', 'INSTANCE', 'STARTED', 'LAST SEEN', 'DETAILS'],
      agents.map((a) => [a.agentId, a.role, a.state, a.instanceId.slice(0, 8), iso(a.startedAt), iso(a.lastSeenAt), details(a.details)]),
    ),
  );
}

/** The few numbers worth a column: what a worker handled, what a dispatcher dispatched. */
function details(value: unknown): string {
  if (!value || typeof value !== 'object') return '';
  const d = value as Record<string, unknown>;
  const parts: string[] = [];
  if (Array.isArray(d.kinds)) parts.push(`kinds ${d.kinds.join(',')}`);
  for (const key of ['completed', 'failed', 'running', 'dispatched', 'handled']) {
    if (typeof d[key] === 'number') parts.push(`${key} ${d[key]}`);
  }
  return parts.join(' · ');
}
