import {
  BaseAgent,
  OrchestratorAgent,
  SystemMonitor,
  TaskDispatcher,
  WorkerAgent,
  type AgentDeps,
} from '../agents/index.js';
import { RESEARCH_KIND, WRITE_KIND, researchHandler, searchProviderFromEnv, writeHandler, type SearchProvider } from '../workloads/index.js';
import { OrchestraError } from '../protocol/index.js';
import type { Runtime } from './runtime.js';
import { badArgument } from './errors.js';

/** The agents one process can run; `orchestra serve --agents` picks among them. */
export const AGENT_NAMES = ['orchestrator', 'dispatcher', 'monitor', 'researcher', 'writer'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];
/** The agents of a study's experiment system, as `serve --space … --agents` names them. */
export const EXPERIMENT_AGENT_NAMES = ['orchestrator', 'monitor', 'variables', 'bots', 'analysis', 'campaigns'] as const;
export type ExperimentAgentName = (typeof EXPERIMENT_AGENT_NAMES)[number];

export const RESEARCHER_ID = 'researcher';
export const WRITER_ID = 'writer';

export interface System {
  /** Every agent of this process, in start order. */
  agents: BaseAgent[];
  orchestrator: OrchestratorAgent | undefined;
  dispatcher: TaskDispatcher | undefined;
  monitor: SystemMonitor | undefined;
  workers: WorkerAgent[];
  /** Where research looks things up, when this process runs the researcher. */
  search: SearchProvider | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** `--agents researcher,writer` as a checked list, in the order given. */
export function parseAgentNames<N extends string = AgentName>(value: string, known: readonly N[] = AGENT_NAMES as unknown as readonly N[]): N[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw badArgument('--agents needs at least one agent name');
  for (const name of names) {
    if (!(known as readonly string[]).includes(name)) {
      throw badArgument(`--agents: unknown agent "${name}" (known: ${known.join(', ')})`);
    }
  }
  return [...new Set(names)] as N[];
}

/**
 * Builds the named agents on an open runtime: the one place they are wired.
 * With the orchestrator among them, it starts the others after itself and
 * stops them before itself; otherwise they start in the order of AGENT_NAMES.
 */
export async function buildSystem(runtime: Runtime, names: readonly AgentName[], env: Record<string, string | undefined>): Promise<System> {
  const { bus, registry, clock, logger, config, db } = runtime;
  if (!bus) throw new OrchestraError('ORC_CONFIG_INVALID', 'agents need the bus; the runtime was opened without one');
  const deps: AgentDeps = { bus, clock, logger, config: config.agent };
  const wanted = new Set(names);
  const search = wanted.has('researcher')
    ? await searchProviderFromEnv(env, config.research.corpusDir ? { corpusDir: config.research.corpusDir } : {})
    : undefined;

  const dispatcher = wanted.has('dispatcher') ? new TaskDispatcher({ ...deps, registry }) : undefined;
  const monitor = wanted.has('monitor') ? new SystemMonitor({ ...deps, registry, monitor: config.monitor }) : undefined;
  const workers: WorkerAgent[] = [];
  if (search) {
    workers.push(
      new WorkerAgent(RESEARCHER_ID, { ...deps, registry, worker: config.worker, handlers: { [RESEARCH_KIND]: researchHandler(search, { limit: config.research.limit }) } }),
    );
  }
  if (wanted.has('writer')) {
    workers.push(new WorkerAgent(WRITER_ID, { ...deps, registry, worker: config.worker, handlers: { [WRITE_KIND]: writeHandler() } }));
  }
  const managed: BaseAgent[] = [];
  for (const agent of [dispatcher, monitor, ...workers]) if (agent) managed.push(agent);
  const orchestrator = wanted.has('orchestrator') ? new OrchestratorAgent({ ...deps, db, registry }).manage(...managed) : undefined;
  const agents = orchestrator ? [orchestrator, ...managed] : managed;

  let started: BaseAgent[] = [];
  return {
    agents,
    orchestrator,
    dispatcher,
    monitor,
    workers,
    search,
    async start() {
      if (orchestrator) {
        started = [orchestrator];
        await orchestrator.start();
        return;
      }
      for (const agent of managed) {
        started.push(agent);
        await agent.start();
      }
    },
    async stop() {
      for (const agent of started.reverse()) await agent.stop();
      started = [];
    },
  };
}
