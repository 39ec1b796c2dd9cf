import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  analyzeGenerationRequest,
  createTestTaskRequest,
  describeError,
  getBestCombinationRequest,
  getGenerationStatsRequest,
  generationScoredEvent,
  newGenerationCreatedEvent,
  OrchestraError,
  stopTestCommand,
  studyFinishedEvent,
  taskCompletedEvent,
  tasksFinishedEvent,
  testResultSchema,
  triggerTestRequest,
  VARIABLE_AGENT_ID,
  type JsonValue,
  type Task,
  type Variables,
} from '../protocol/index.js';
import type { TaskRegistry } from '../registry/index.js';
import {
  createStudy,
  getGeneration,
  getStudy,
  insertGeneration,
  latestGeneration,
  listCombinations,
  listResults,
  markGenerationScored,
  recordScores,
  setDriftDetection,
  setExploreFrom,
  useExploreGeneration,
  setStudyState,
  type Db,
  type GenerationRow,
  type PlannedTest,
  type StudyDriverRow,
  type StudyRow,
  type TestResultRow,
} from '../store/index.js';
import {
  classify,
  parseSpace,
  recommendation,
  scoreCombinations,
  type Observation,
  type Recommendation,
  type RecommendationFilters,
  type Scored,
  type Space,
  EXPLORE_GENERATIONS_AFTER_CHANGE,
  nextGenerationAt,
  planGeneration,
  watchableKeys,
} from '../evolution/index.js';
import { BaseAgent, type AgentDeps } from './base-agent.js';
import { experimentConfig, type ExperimentConfig, type ExperimentOptions } from './experiment-config.js';
import { bestCombinationOf, readStudyEvidence } from './study-evidence.js';
import { StudyDriver, StudyFailedError, StudyLeaseLostError } from './study-driver.js';

export interface VariableAgentDeps extends AgentDeps {
  db: Db;
  registry: TaskRegistry;
  studyId: string;
  /** The workload the bots run for this study's tests (`compression`, `synthetic`, `command`). */
  workload: string;
  /** The space, for a new study; a resumed study keeps the one it was created with. */
  space: Space;
  experiment?: ExperimentOptions;
  /** How the processes standing by name this one (default: its pid and host). */
  driverName?: string;
  /** Hears that another process drives the study, and which: this one stands by until that one stops or dies. */
  onStandby?: (driver: StudyDriverRow) => void;
  /** Hears that this one drives the study, after standing by. */
  onTakeOver?: () => void;
  /** Combinations evaluated before any the search proposes (a warm start), within the budget; this run's, like the budget. */
  enqueue?: readonly Variables[];
}

/** Live figures for a progress line. */
export interface StudyProgress {
  generation: number;
  testsDone: number;
  testsPlanned: number;
  evaluations: number;
  best: Scored | undefined;
  /** The study's state, `waiting` while the cadence holds the next generation back, `standby` while another process drives it. */
  state: string;
  /** When the next generation starts, while the cadence holds it back; otherwise null. */
  nextGenerationAt: number | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const FINISHED = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/**
 * Owns a study's generations. Resumes from the latest stored generation or
 * creates an initial population; has the fleet test every combination
 * (`testsPerCombination` each, through the bot agent), scores and classifies
 * them, asks the analysis agent whether the environment changed, evolves the
 * next generation from what it learnt, and publishes `new_generation_created`.
 * The next generation starts as soon as the last one's tests finish.
 *
 * Everything it knows is in the store: a generation's plan is written before
 * its tests are registered (with ids derived from their trial numbers, so
 * registering again after a crash finds them), and a result is recorded once
 * per task. Killed mid-generation, it continues that generation.
 *
 * One instance drives a study at a time, through a lease in the store (see
 * StudyDriver): another, in this process or any other on the same store,
 * stands by and takes over when the driver stops or its lease runs out.
 * Every write of a generation, its results or its scores is fenced by the
 * lease, so one that lost it never writes again.
 *
 * Requests: `get_best_combination`, `get_generation_stats`, `trigger_test`.
 * Command: `stop_test`.
 */
export class VariableAgent extends BaseAgent {
  readonly studyId: string;
  readonly experiment: ExperimentConfig;
  private readonly db: Db;
  private readonly registry: TaskRegistry;
  private readonly workload: string;
  /** Made as the agent starts, once a resumed study's settings are known. */
  private driver!: StudyDriver;
  private readonly deps: VariableAgentDeps;
  private stopping = new AbortController();
  private space: Space;
  private loop: Promise<void> | undefined;
  private looping = false;
  private loopFailure: StudyFailedError | undefined;
  private wakeUp: (() => void) | undefined;
  /** The generation's tests not recorded yet, while it is being collected; and those of them events said finished since the last read. */
  private awaited = new Set<string>();
  private readonly heard = new Set<string>();
  private progress: StudyProgress = { generation: 0, testsDone: 0, testsPlanned: 0, evaluations: 0, best: undefined, state: 'new', nextGenerationAt: null };
  /** Set by `trigger_test`: the next generation starts without waiting for the cadence. */
  private triggered = false;

  constructor(deps: VariableAgentDeps, id = VARIABLE_AGENT_ID) {
    super(id, 'variables', deps);
    this.db = deps.db;
    this.registry = deps.registry;
    this.studyId = deps.studyId;
    this.workload = deps.workload;
    this.space = parseSpace(deps.space);
    this.experiment = experimentConfig.parse(deps.experiment ?? {});
    this.deps = deps;

    this.onRequest(getBestCombinationRequest, async (filters) => {
      const minSuccessRate = filters.min_success_rate ?? this.experiment.minSuccessRate;
      const best = await this.recommendationOf(await this.study(), { minSuccessRate, ...(filters.classification ? { classification: filters.classification } : {}) });
      // null, not an empty object: the asker (a campaign) reads "nothing has succeeded yet".
      return best ? bestCombinationOf(this.studyId, best) : null;
    });
    this.onRequest(getGenerationStatsRequest, async ({ generation }) => {
      const row = generation === undefined ? await latestGeneration(this.db, this.studyId) : await getGeneration(this.db, this.studyId, generation);
      if (!row) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `study ${this.studyId} has no generation ${generation ?? '(none yet)'}`);
      const results = await listResults(this.db, this.studyId, { generation: row.generation });
      return { studyId: this.studyId, generation: row.generation, state: row.state, tests: row.tests.length, testsDone: results.length, stats: row.stats };
    });
    this.onRequest(triggerTestRequest, async () => {
      this.triggered = true;
      const study = await this.study();
      if (study.state !== 'running') await setStudyState(this.db, this.studyId, 'running', this.clock.now());
      this.wake();
      if (this.state === 'running') this.startLoop();
      return { studyId: this.studyId, state: 'running', generation: study.generation };
    });
    this.onCommand(stopTestCommand, async () => {
      await setStudyState(this.db, this.studyId, 'stopped', this.clock.now());
      this.progress.state = 'stopped';
      this.logger.info({ studyId: this.studyId }, 'study stopped on request');
      this.wake();
    });
    // Both say which test finished: the collector then reads that one, not every test it waits for.
    this.onEvent(taskCompletedEvent, ({ taskId }) => this.hear([taskId]));
    this.onEvent(tasksFinishedEvent, ({ tasks }) => this.hear(tasks.filter((t) => t.status !== 'PENDING').map((t) => t.taskId)));
  }

  private hear(taskIds: readonly string[]): void {
    const ours = taskIds.filter((id) => this.awaited.has(id));
    if (ours.length === 0) return;
    for (const id of ours) this.heard.add(id);
    this.wake();
  }

  /** Figures for a live display: the current generation, its tests, the best so far. */
  get progressNow(): StudyProgress {
    return this.progress;
  }

  /**
   * Resolves when the study has finished (budget or generations spent), was
   * stopped, or its loop stopped on an error (then `studyFailure` says which).
   */
  async finished(): Promise<void> {
    await this.loop;
  }

  /** The error that stopped the generation loop, if one did: the study is left as it was, to resume. */
  get studyFailure(): StudyFailedError | undefined {
    return this.loopFailure;
  }

  /** Every observation of the study so far, in trial order, with each combination's variables. */
  async observations(options: { sinceExplore?: boolean } = {}): Promise<Observation[]> {
    const study = await this.study();
    const { observations } = await readStudyEvidence(this.db, study, this.space);
    const since = options.sinceExplore && study.exploreFrom !== null ? study.exploreFrom : 0;
    return since > 0 ? observations.filter((o) => o.trial >= since) : observations;
  }

  /** The study's recommendation as it stands, with the study's own filters (see `recommendation` in evolution). */
  async recommendation(): Promise<Scored | undefined> {
    return (await this.recommendationOf(await this.study()))?.best;
  }

  private async recommendationOf(study: StudyRow, filters: RecommendationFilters = { minSuccessRate: this.experiment.minSuccessRate }): Promise<Recommendation | undefined> {
    return recommendation(await readStudyEvidence(this.db, study, this.space), filters);
  }

  protected override async initialize(): Promise<void> {
    const created = await createStudy(this.db, this.studyId, this.space as unknown as JsonValue, this.experiment as unknown as JsonValue, this.clock.now());
    const study = await this.study();
    if (!created) {
      // A resumed study keeps the space and the search settings it started with;
      // how far to go (generations, budget) and how to wait are this run's.
      this.space = parseSpace(study.space);
      const { maxGenerations, budget, cadence, pollMs, analysisTimeoutMs, createTestsTimeoutMs, campaignPollMs, driverLeaseMs, drift } = this.experiment;
      Object.assign(this.experiment, experimentConfig.parse(study.settings), {
        maxGenerations,
        budget,
        cadence,
        pollMs,
        analysisTimeoutMs,
        createTestsTimeoutMs,
        campaignPollMs,
        driverLeaseMs,
      });
      // Drift detection on or off is this run's too; the analysis reads it from the store.
      this.experiment.drift = { ...this.experiment.drift, enabled: drift.enabled };
      if (experimentConfig.parse(study.settings).drift.enabled !== drift.enabled) await setDriftDetection(this.db, this.studyId, drift.enabled);
      this.logger.info({ studyId: this.studyId, generation: study.generation, trials: study.trials }, 'resuming study');
      // A resumed study shows its best from the start, not from its next scored generation.
      this.progress.best = await this.recommendation();
    }
  }

  protected override async run(): Promise<void> {
    this.stopping = new AbortController();
    this.driver = new StudyDriver({
      db: this.db,
      clock: this.clock,
      logger: this.logger,
      studyId: this.studyId,
      ownerId: `${this.id}:${this.instanceId}`,
      ...(this.deps.driverName ? { holder: this.deps.driverName } : {}),
      leaseMs: this.experiment.driverLeaseMs,
      pollMs: this.experiment.pollMs,
      onLost: () => this.wake(),
    });
    this.startLoop();
  }

  /** Runs the generation loop unless it runs already; it ends when the study stops or finishes. */
  private startLoop(): void {
    if (this.looping) return;
    this.looping = true;
    this.loopFailure = undefined;
    this.loop = this.drive()
      .catch((err: unknown) => {
        this.logger.error({ err: describeError(err) }, 'study stopped by an error');
        this.loopFailure = new StudyFailedError(this.studyId, err);
        this.progress.state = 'failed';
      })
      .finally(() => (this.looping = false));
  }

  protected override async cleanup(): Promise<void> {
    this.stopping.abort();
    this.wake();
    await this.loop;
    // Stopped mid-generation, the study holds results no generation has scored yet; what it recommends now counts them.
    this.progress.best = await this.recommendation().catch(() => this.progress.best);
  }

  protected override details(): Record<string, JsonValue> {
    const p = this.progress;
    return { studyId: this.studyId, generation: p.generation, testsDone: p.testsDone, testsPlanned: p.testsPlanned, evaluations: p.evaluations, state: p.state, bestScore: p.best?.score ?? null, nextGenerationAt: p.nextGenerationAt };
  }

  /**
   * Drives the study while this instance holds its lease: stands by while
   * another does, runs the generations once it holds it, and stands by again
   * if another process took it over meanwhile (this one was paused past the
   * lease, say). A clean end releases the lease for whoever stands by.
   */
  private async drive(): Promise<void> {
    let stoodBy = false;
    while (this.state === 'running') {
      const acquired = await this.driver.acquire(this.stopping.signal, (holder) => {
        stoodBy = true;
        this.progress.state = 'standby';
        this.deps.onStandby?.(holder);
      });
      if (!acquired) return;
      try {
        this.logger.info({ studyId: this.studyId, epoch: this.driver.epoch }, 'driving the study');
        if (stoodBy) this.deps.onTakeOver?.();
        stoodBy = false;
        await this.takeOver();
        await this.generations();
        return;
      } catch (err) {
        if (!(err instanceof StudyLeaseLostError)) throw err;
        this.logger.warn({ studyId: this.studyId }, 'another process took over the study; standing by');
      } finally {
        await this.driver.release().catch((err: unknown) => this.logger.warn({ err: describeError(err) }, 'driver lease not released'));
      }
    }
  }

  /** A study that was finished goes on when driven again (with more generations or budget, say). */
  private async takeOver(): Promise<void> {
    const study = await this.study();
    if (study.state === 'finished') await this.driver.fenced((tx) => setStudyState(tx, this.studyId, 'running', this.clock.now()));
  }

  private async generations(): Promise<void> {
    while (this.state === 'running') {
      const study = await this.study();
      this.progress.state = study.state;
      this.progress.evaluations = study.trials;
      if (study.state !== 'running') return;
      let generation = await latestGeneration(this.db, this.studyId);
      if (!generation) generation = await this.plan(study, 0);
      else if (generation.state === 'scored') {
        if (this.isOver(study, generation)) {
          await this.driver.fenced((tx) => setStudyState(tx, this.studyId, 'finished', this.clock.now()));
          this.progress.state = 'finished';
          await this.sendEvent(studyFinishedEvent, { studyId: this.studyId, generation: generation.generation, evaluations: study.trials }).catch(() => undefined);
          return;
        }
        if (!(await this.waitForCadence(generation))) continue;
        generation = await this.plan(study, generation.generation + 1);
        if (!generation) continue;
      }
      await this.register(generation);
      if (!(await this.collect(generation))) continue;
      await this.score(generation);
    }
  }

  /**
   * Holds the next generation back until the cadence's next time after `last`
   * was scored (see nextGenerationAt). False when the wait was cut short (a
   * stop, or a `stop_test`), so the loop looks at the study again first.
   */
  private async waitForCadence(last: GenerationRow): Promise<boolean> {
    const due = nextGenerationAt(this.experiment.cadence, last.scoredAt ?? this.clock.now());
    if (this.triggered || due <= this.clock.now()) {
      this.triggered = false;
      return true;
    }
    this.progress.state = 'waiting';
    this.progress.nextGenerationAt = due;
    this.logger.info({ studyId: this.studyId, nextGenerationAt: new Date(due).toISOString() }, 'next generation waits for the cadence');
    try {
      // A day at most per sleep (timers overflow past 24.8 days); the loop comes back here until it is due.
      await this.sleepUnlessWoken(Math.min(due - this.clock.now(), DAY_MS));
    } finally {
      this.progress.nextGenerationAt = null;
    }
    return false;
  }

  private isOver(study: StudyRow, last: GenerationRow): boolean {
    const { budget, maxGenerations } = this.experiment;
    return (budget !== undefined && study.trials >= budget) || (maxGenerations !== undefined && last.generation + 1 >= maxGenerations);
  }

  /**
   * Plans generation `g`: retests of the best, then new combinations, within
   * the budget, or at the budget's end a race of the top candidates (see
   * planGeneration); written before anything is registered.
   */
  private async plan(study: StudyRow, g: number): Promise<GenerationRow> {
    const { population, testsPerCombination, budget, seed } = this.experiment;
    const observations = await this.observations();
    // Kept in the study's row, so a driver restarted (or taken over) mid-way explores as long as this one would have.
    const exploring = study.exploreLeft > 0;
    const { runs, retestRuns, raceRuns, eliteCount } = planGeneration({
      space: this.space,
      generation: g,
      seed,
      population,
      testsPerCombination,
      retests: this.experiment.retests,
      budgetLeft: budget === undefined ? Infinity : budget - study.trials,
      budget,
      observations,
      since: study.exploreFrom ?? 0,
      explore: exploring,
      // Without drift detection no retest is chosen to watch the elite for a change.
      watchable: this.experiment.drift.enabled ? watchableKeys(observations, g, this.experiment.drift, this.clock.now()) : new Set(),
      enqueued: this.deps.enqueue ?? [],
      minSuccessRate: this.experiment.minSuccessRate,
    });
    const tests: PlannedTest[] = runs.map((r, i) => {
      const trial = study.trials + i;
      return { key: r.key, trial, taskId: `t-${this.studyId}-${trial}` };
    });
    const combinations = [...new Map(runs.map((r) => [r.key, r.variables])).entries()].map(([key, variables]) => ({ key, variables }));
    await this.driver.fenced(async (tx) => {
      await insertGeneration(tx, { studyId: this.studyId, generation: g, combinations, tests }, this.clock.now());
      if (exploring) await useExploreGeneration(tx, this.studyId);
    });
    this.progress = { ...this.progress, generation: g, testsDone: 0, testsPlanned: tests.length };
    this.logger.info({ studyId: this.studyId, generation: g, tests: tests.length, retests: retestRuns, ...(raceRuns ? { race: raceRuns } : {}) }, 'generation planned');
    const row = (await getGeneration(this.db, this.studyId, g))!;
    await this.sendEvent(newGenerationCreatedEvent, {
      studyId: this.studyId,
      generation: g,
      combinations: combinations.length,
      tests: tests.length,
      retests: retestRuns,
      elite_count: eliteCount,
    }).catch(() => undefined);
    return row;
  }

  /** Has the bot agent register the generation's tests; ids and idempotency keys make a repeat after a crash harmless. */
  private async register(generation: GenerationRow): Promise<void> {
    const variables = new Map((await listCombinations(this.db, this.studyId)).map((c) => [c.key, c.variables]));
    const existing = new Set((await this.registry.getMany(generation.tests.map((t) => t.taskId))).map((t) => t.taskId));
    const missing = generation.tests.filter((t) => !existing.has(t.taskId));
    for (let i = 0; i < missing.length; i += 500) {
      const tests = missing.slice(i, i + 500).map((t) => ({
        taskId: t.taskId,
        workload: this.workload,
        studyId: this.studyId,
        key: t.key,
        variables: variables.get(t.key)!,
        trial: t.trial,
        generation: generation.generation,
        priority: this.experiment.testPriority,
        maxAttempts: this.experiment.testMaxAttempts,
        ...(this.experiment.botGroup ? { group: this.experiment.botGroup } : {}),
        ...(this.experiment.botRole ? { role: this.experiment.botRole } : {}),
      }));
      await this.sendRequest(createTestTaskRequest, { tests }, { timeoutMs: this.experiment.createTestsTimeoutMs });
    }
  }

  /** Records results as tests finish; true once all have, false when the study stopped first. */
  private async collect(generation: GenerationRow): Promise<boolean> {
    const ids = generation.tests.map((t) => t.taskId);
    const byTask = new Map(generation.tests.map((t) => [t.taskId, t]));
    const recorded = new Set((await listResults(this.db, this.studyId, { generation: generation.generation })).map((r) => r.taskId));
    // A generation resumed after a restart was planned by an earlier process: its size is known before anything is counted.
    this.progress = { ...this.progress, generation: generation.generation, testsDone: recorded.size, testsPlanned: ids.length };
    this.awaited = new Set(ids.filter((id) => !recorded.has(id)));
    this.heard.clear();
    try {
      // Every test is read on the first turn and after a nap no event cut short (an event may be lost:
      // a bot elsewhere, a redelivery); on the other turns, only those events said finished.
      let everything = true;
      for (;;) {
        const wanted = (everything ? ids : [...this.heard]).filter((id) => !recorded.has(id));
        this.heard.clear();
        const tasks = wanted.length ? await this.registry.getMany(wanted) : [];
        const done = tasks.filter((t) => FINISHED.has(t.status));
        if (done.length) {
          const rows = done.map((t) => this.resultOf(t, byTask.get(t.taskId)!, generation.generation));
          const now = new Set(await this.driver.recordResults(rows));
          for (const id of now) recorded.add(id);
          for (const t of done) recorded.add(t.taskId);
          // Each finish is told twice (by its worker and by the bot agent): what is recorded is not read again.
          for (const t of done) {
            this.awaited.delete(t.taskId);
            this.heard.delete(t.taskId);
          }
          await this.logEvaluations(rows.filter((r) => now.has(r.taskId)), done);
        }
        this.progress.testsDone = recorded.size;
        if (recorded.size >= ids.length) return true;
        if (this.driver.lost) throw new StudyLeaseLostError(this.studyId, this.driver.epoch ?? 0);
        if (this.state !== 'running') return false;
        // The study's state (an operator may stop or pause it) is read when a turn recorded nothing, not on every result.
        if (done.length === 0 && (await this.study()).state !== 'running') return false;
        everything = !(await this.nap());
      }
    } finally {
      this.awaited = new Set();
    }
  }

  /** One info line per evaluation recorded: its trial (1-based), variables, outcome, duration, bot and attempt. */
  private async logEvaluations(rows: readonly TestResultRow[], tasks: readonly Task[]): Promise<void> {
    if (rows.length === 0 || !this.logger.isLevelEnabled('info')) return;
    const variables = new Map((await listCombinations(this.db, this.studyId)).map((c) => [c.key, c.variables]));
    const byId = new Map(tasks.map((t) => [t.taskId, t]));
    for (const r of rows) {
      const task = byId.get(r.taskId);
      const result = task?.result;
      const durationMs = result !== null && typeof result === 'object' && !Array.isArray(result) && typeof result.durationMs === 'number' ? result.durationMs : null;
      this.logger.info(
        { studyId: this.studyId, trial: r.trial + 1, variables: variables.get(r.key) ?? null, success: r.success, value: r.value, ...(r.success ? {} : { reason: r.reason }), durationMs, bot: r.botId, attempt: task?.attempt ?? null },
        'evaluation recorded',
      );
    }
  }

  private resultOf(task: Task, planned: PlannedTest, generation: number): TestResultRow {
    const base = { taskId: task.taskId, studyId: this.studyId, key: planned.key, generation, trial: planned.trial, at: task.updatedAt, botId: botOf(task.workerId) };
    if (task.status === 'COMPLETED') {
      const parsed = testResultSchema.safeParse(task.result);
      if (parsed.success) {
        const { success, value, metrics, reason } = parsed.data;
        const ok = success && value !== null && Number.isFinite(value);
        return { ...base, success: ok, value: ok ? value : null, metrics, reason: ok ? null : (reason ?? 'the evaluation reported no usable value') };
      }
      return { ...base, success: false, value: null, metrics: {}, reason: `the bot reported something that is not an evaluation: ${parsed.error.issues[0]?.message ?? ''}` };
    }
    const error = task.error ? `${task.error.code}: ${task.error.message}` : task.status;
    return { ...base, success: false, value: null, metrics: {}, reason: error };
  }

  /** Scores the generation, classifies, asks for the analysis, and marks it scored (last, so a crash re-scores it). */
  private async score(generation: GenerationRow): Promise<void> {
    const current = await this.observations({ sinceExplore: true });
    const scored = scoreCombinations(this.space, current);
    const classes = classify(scored);
    const now = this.clock.now();
    await this.driver.fenced((tx) =>
      recordScores(tx, this.studyId, scored.map((s) => ({ key: s.key, classification: classes.get(s.key)!, score: s.score })), generation.generation, now),
    );
    const inGeneration = current.filter((o) => o.generation === generation.generation);
    const stats: Record<string, JsonValue> = {
      combinations: new Set(inGeneration.map((o) => o.key)).size,
      tests: inGeneration.length,
      successes: inGeneration.filter((o) => o.success).length,
      meanScore: scored.length ? scored.reduce((s, x) => s + x.score, 0) / scored.length : null,
      elite: [...classes.entries()].filter(([, c]) => c === 'elite').map(([k]) => k),
    };
    const verdict: { changed: boolean; since: number | null } = await this.sendRequest(
      analyzeGenerationRequest,
      { studyId: this.studyId, generation: generation.generation },
      { timeoutMs: this.experiment.analysisTimeoutMs },
    ).catch((err: unknown) => {
      this.logger.warn({ err: describeError(err) }, 'no analysis for this generation; going on without it');
      return { changed: false, since: null };
    });
    if (verdict.changed) {
      const study = await this.study();
      // The evidence since the first result that showed the change is of the new landscape
      // and is kept; without that trial, everything measured so far is set aside.
      const from = Math.min(study.trials, Math.max(study.exploreFrom ?? 0, verdict.since ?? study.trials));
      await this.driver.fenced((tx) => setExploreFrom(tx, this.studyId, from, this.clock.now(), EXPLORE_GENERATIONS_AFTER_CHANGE));
      stats.environmentChange = true;
      this.logger.warn({ generation: generation.generation }, 'environment changed: exploring again from the next generation');
    }
    // After the verdict: a change detected now already decides what the recommendation is judged on.
    const best = await this.recommendation();
    this.progress.best = best;
    stats.best = best ? { key: best.key, variables: best.combination, score: best.score, mean: best.mean, successRate: best.successRate, tests: best.tests } : null;
    await this.driver.fenced((tx) => markGenerationScored(tx, this.studyId, generation.generation, stats, this.clock.now()));
    await this.sendEvent(generationScoredEvent, {
      studyId: this.studyId,
      generation: generation.generation,
      tests: inGeneration.length,
      successes: stats.successes as number,
      bestScore: scored.length ? Math.max(...scored.map((x) => x.score)) : null,
      meanScore: stats.meanScore as number | null,
      recommended: best?.key ?? null,
      environmentChange: verdict.changed,
    }).catch(() => undefined);
    this.logger.info({ studyId: this.studyId, generation: generation.generation, tests: stats.tests, bestScore: best?.score ?? null }, 'generation scored');
  }

  private async study(): Promise<StudyRow> {
    const study = await getStudy(this.db, this.studyId);
    if (!study) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `no study ${this.studyId}`);
    return study;
  }

  private wake(): void {
    this.wakeUp?.();
  }

  /**
   * Waits for a completion event, a stop, or the poll interval, whichever
   * comes first; true when woken before the interval passed. It first yields
   * to the event loop: on the embedded default the bus and the database
   * answer in microtasks, and a loop woken by completions would otherwise
   * never let timers (progress lines, heartbeats) run. Finishes heard while
   * the collector was busy end the nap at once.
   */
  private async nap(): Promise<boolean> {
    await yieldToEventLoop();
    if (this.heard.size > 0) return true;
    return this.sleepUnlessWoken(this.experiment.pollMs);
  }

  /** Sleeps `ms` on the clock, or until `wake` (a completion, a stop, a trigger) cuts it short; true when cut short. */
  private async sleepUnlessWoken(ms: number): Promise<boolean> {
    const stop = new AbortController();
    this.wakeUp = () => stop.abort();
    try {
      await this.clock.sleep(ms, stop.signal).catch(() => undefined);
      return stop.signal.aborted;
    } finally {
      this.wakeUp = undefined;
    }
  }
}

/** `bot.b3:1a2b3c4d` → `b3`. */
function botOf(workerId: string | null): string | null {
  if (!workerId?.startsWith('bot.')) return workerId;
  return workerId.slice(4).split(':')[0] ?? null;
}
