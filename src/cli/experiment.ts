import {
  AnalysisAgent,
  BaseAgent,
  Bot,
  BotAgent,
  CampaignAgent,
  OrchestratorAgent,
  SystemMonitor,
  VariableAgent,
  type AgentDeps,
  type BotBehaviour,
  type ExperimentOptions,
  type FleetOptions,
  type VariableAgentDeps,
} from '../agents/index.js';
import type { Space } from '../evolution/index.js';
import { createRng, OrchestraError } from '../protocol/index.js';
import { CAMPAIGN_EVALUATOR, testHandler, type Evaluator } from '../workloads/index.js';
import type { Runtime } from './runtime.js';

export interface ExperimentSetup {
  studyId: string;
  space: Space;
  /** The workload's name, carried by every test task, and its evaluator. */
  workload: string;
  evaluator: Evaluator;
  /** What a campaign's runs execute on this process's bots instead of the evaluator. */
  campaign?: Evaluator;
  experiment: ExperimentOptions;
  fleet: FleetOptions;
  /** In-process bots and how each misbehaves (empty: a well-behaved bot). */
  bots: { botId: string; behaviour?: BotBehaviour }[];
  /** Seeds the simulated misbehaviour. */
  seed: number;
  /** Adds the orchestrator and the campaign agent (the long-running system); `optimize` needs neither. */
  full: boolean;
  /** Only these of the system's agents run here (`serve --agents`); default all. In-process bots run either way. */
  only?: ReadonlySet<string>;
  /** Told when another process drives the study, and when this one takes over (see VariableAgent). */
  onStandby?: VariableAgentDeps['onStandby'];
  onTakeOver?: VariableAgentDeps['onTakeOver'];
  /** Combinations the study evaluates first (`optimize --enqueue`). */
  enqueue?: VariableAgentDeps['enqueue'];
}

export interface ExperimentSystem {
  agents: BaseAgent[];
  /** What this process's bots run, by workload: more may be added while they run (a study launched over HTTP). */
  evaluators: Record<string, Evaluator>;
  variables: VariableAgent;
  botAgent: BotAgent;
  bots: Bot[];
  orchestrator: OrchestratorAgent | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Wires the experiment agents and an in-process fleet on an open runtime: the one place they are put together. */
export function buildExperiment(runtime: Runtime, setup: ExperimentSetup): ExperimentSystem {
  const { bus, registry, clock, logger, db, config } = runtime;
  if (!bus) throw new OrchestraError('ORC_CONFIG_INVALID', 'the experiment agents need the bus; the runtime was opened without one');
  const deps: AgentDeps = { bus, clock, logger, config: config.agent };
  const evaluators: Record<string, Evaluator> = { [setup.workload]: setup.evaluator, ...(setup.campaign ? { [CAMPAIGN_EVALUATOR]: setup.campaign } : {}) };
  const handler = testHandler(evaluators);
  const botAgent = new BotAgent({ ...deps, db, registry, fleet: setup.fleet });
  const analysis = new AnalysisAgent({ ...deps, db });
  const bots = setup.bots.map(
    (b, i) =>
      new Bot({
        ...deps,
        registry,
        botId: b.botId,
        handler,
        fleet: setup.fleet,
        ...(b.behaviour ? { behaviour: b.behaviour, rng: createRng(setup.seed * 7919 + i) } : {}),
      }),
  );
  const variables = new VariableAgent({
    ...deps,
    db,
    registry,
    studyId: setup.studyId,
    workload: setup.workload,
    space: setup.space,
    experiment: setup.experiment,
    ...(setup.onStandby ? { onStandby: setup.onStandby } : {}),
    ...(setup.onTakeOver ? { onTakeOver: setup.onTakeOver } : {}),
    ...(setup.enqueue ? { enqueue: setup.enqueue } : {}),
  });
  // The monitor sweeps tasks a killed process left RUNNING, so a resumed study gets them back.
  const monitor = new SystemMonitor({ ...deps, registry, monitor: config.monitor });
  const extra: BaseAgent[] = setup.full
    ? [
        new CampaignAgent({
          ...deps,
          db,
          registry,
          workload: setup.workload,
          ...(setup.experiment.campaignPollMs ? { pollMs: setup.experiment.campaignPollMs } : {}),
          ...(setup.experiment.botGroup ? { botGroup: setup.experiment.botGroup } : {}),
          ...(setup.experiment.botRole ? { botRole: setup.experiment.botRole } : {}),
        }),
      ]
    : [];
  const runs = (agent: BaseAgent) => !setup.only || setup.only.has(agent.id);
  const managed: BaseAgent[] = [...[botAgent, analysis, monitor, ...extra].filter(runs), ...bots, ...(runs(variables) ? [variables] : [])];
  const orchestrator = setup.full && (!setup.only || setup.only.has('orchestrator')) ? new OrchestratorAgent({ ...deps, db, registry }).manage(...managed) : undefined;
  const agents = orchestrator ? [orchestrator, ...managed] : managed;
  let started: BaseAgent[] = [];
  return {
    agents,
    evaluators,
    variables,
    botAgent,
    bots,
    orchestrator,
    async start() {
      for (const agent of orchestrator ? [orchestrator] : managed) {
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
