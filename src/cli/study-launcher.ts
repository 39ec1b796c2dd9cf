import { VariableAgent } from '../agents/index.js';
import { OrchestraError, ValidationError } from '../protocol/index.js';
import { getStudy } from '../store/index.js';
import { commandEvaluator, syntheticEvaluator, type Evaluator } from '../workloads/index.js';
import type { StudyLaunch, StudyLauncher } from '../api/index.js';
import type { ExperimentSystem } from './experiment.js';
import type { Runtime } from './runtime.js';
import { optimizePopulation } from './defaults.js';

/** A launched study's agent: named after the study, so several run beside the system's own `variables`. */
export const launchedAgentId = (studyId: string): string => `variables.${studyId}`;

/**
 * Runs the studies HTTP clients start (`POST /api/studies`) on this process's
 * experiment system: each is bounded as `optimize` bounds one (one
 * evaluation per combination, one attempt each, never more than its budget),
 * driven by a variable agent of its own, tested by the system's fleet. The
 * workload is `synthetic` (a landscape drawn over the study's space) or one
 * the configuration's `workloads` names with its command: a request never
 * carries a command line.
 */
export class ProcessStudies implements StudyLauncher {
  private readonly agents = new Map<string, VariableAgent>();
  private closed = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly system: ExperimentSystem,
    private readonly cwd: string,
  ) {}

  get workloads(): readonly string[] {
    return ['synthetic', ...Object.keys(this.runtime.config.workloads)];
  }

  async launch(study: StudyLaunch): Promise<{ agentId: string }> {
    const { runtime } = this;
    const { workload, evaluator } = this.evaluatorFor(study);
    if (this.closed) throw new OrchestraError('ORC_API_UNAVAILABLE', 'this process is stopping: it starts no more studies');
    if (this.agents.has(study.studyId) || (await getStudy(runtime.db, study.studyId))) {
      throw new OrchestraError('ORC_STORE_DUPLICATE_KEY', `the store already holds a study ${study.studyId}: choose another studyId`);
    }
    // A command workload is one evaluator for every study that names it; a synthetic one is the study's own landscape.
    this.system.evaluators[workload] ??= evaluator;
    const agentId = launchedAgentId(study.studyId);
    const agent = new VariableAgent(
      {
        bus: runtime.bus!,
        clock: runtime.clock,
        logger: runtime.logger,
        config: runtime.config.agent,
        db: runtime.db,
        registry: runtime.registry,
        studyId: study.studyId,
        workload,
        space: study.space,
        experiment: {
          ...runtime.config.experiment,
          testsPerCombination: 1,
          retests: 1,
          testMaxAttempts: 1,
          cadence: undefined,
          maxGenerations: undefined,
          budget: study.budget,
          population: study.population ?? optimizePopulation(study.budget),
          ...(study.seed !== undefined ? { seed: study.seed } : {}),
        },
      },
      agentId,
    );
    this.agents.set(study.studyId, agent);
    try {
      await agent.start();
    } catch (err) {
      this.agents.delete(study.studyId);
      throw err;
    }
    // Its budget spent, the study is done: its agent stops, and the id stays taken in the store.
    void agent.finished().then(async () => {
      await agent.stop();
      runtime.logger.info({ studyId: study.studyId, failure: agent.studyFailure?.message }, 'launched study finished');
    });
    runtime.logger.info({ studyId: study.studyId, workload, budget: study.budget }, 'study launched over HTTP');
    return { agentId };
  }

  agentOf(studyId: string): string | undefined {
    return this.agents.has(studyId) ? launchedAgentId(studyId) : undefined;
  }

  /** Stops every launched study's agent (the studies stay as they are in the store, to resume). */
  async stop(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
  }

  private evaluatorFor(study: StudyLaunch): { workload: string; evaluator: Evaluator } {
    const { config, clock } = this.runtime;
    if (study.workload === 'synthetic') {
      return { workload: `synthetic.${study.studyId}`, evaluator: syntheticEvaluator(study.space, { seed: study.seed ?? config.experiment.seed }) };
    }
    const configured = config.workloads[study.workload];
    if (!configured) {
      throw new ValidationError('study', [
        { path: 'workload', code: 'ORC_PROTOCOL_INVALID_VALUE', message: `"${study.workload}" is not a workload of this server; it has: ${this.workloads.join(', ')} (more in the configuration's workloads)` },
      ]);
    }
    return { workload: study.workload, evaluator: commandEvaluator(configured.command, { clock, cwd: this.cwd, ...(configured.timeoutMs ? { timeoutMs: configured.timeoutMs } : {}) }) };
  }
}
