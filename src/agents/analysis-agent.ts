import {
  ANALYSIS_AGENT_ID,
  analysisReportSchema,
  analyzeGenerationRequest,
  environmentChangeDetectedEvent,
  getReportRequest,
  OrchestraError,
  type AnalysisReport,
  type JsonValue,
} from '../protocol/index.js';
import {
  getStudy,
  listCombinations,
  listGenerations,
  listReports,
  listResults,
  saveReport,
  scoreHistory,
  type Db,
} from '../store/index.js';
import { environmentDrift, generationReport, parseSpace } from '../evolution/index.js';
import { BaseAgent, type AgentDeps } from './base-agent.js';
import { experimentConfig } from './experiment-config.js';

/** The drift part of a report when detection is off. */
const NO_DRIFT_CHECK = { changed: false, baseline: null, recent: null, drop: null, noise: null, explained: 0, elite: [], since: null, off: true } as const;

export interface AnalysisAgentDeps extends AgentDeps {
  db: Db;
}

/**
 * Keeps each combination's score over time, predicts where it is heading,
 * reports per generation (best, mean, diversity, convergence), and raises
 * `environment_change_detected` when the elite's recent results fall more
 * than the threshold below their baseline and more than their noise explains
 * (detectEliteDrift).
 *
 * The prediction model is a least-squares line through a combination's last
 * five scores, extrapolated one generation; its error is the mean absolute
 * error of the same model predicting each known score from the ones before.
 *
 * Drift is measured on the elite's test results, each turned into a
 * performance in [0, 1]: the share of the results seen before the window
 * that it matches or beats (a failure 0). An elite sits near 1; one that now
 * does no better than a typical earlier result falls to about 0.5. A rank,
 * unlike a value, means the same on any scale, in either direction of the
 * objective, and is not stretched by one outlier. The noise is judged on
 * the same scale: how far repeated results of one combination stray from
 * each other before the window.
 *
 * Requests: `analyze_generation` `{studyId, generation}` → the report with
 * `changed`; `get_report` `{studyId, generation?}`.
 */
export class AnalysisAgent extends BaseAgent {
  private readonly db: Db;

  constructor(deps: AnalysisAgentDeps, id = ANALYSIS_AGENT_ID) {
    super(id, 'analysis', deps);
    this.db = deps.db;
    this.onRequest(analyzeGenerationRequest, ({ studyId, generation }) => this.analyze(studyId, generation));
    this.onRequest(getReportRequest, async ({ studyId, generation }) => {
      const reports = await listReports(this.db, studyId);
      const report = generation === undefined ? reports.at(-1) : reports.find((r) => r.generation === generation);
      if (!report) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `no analysis report for study ${studyId}${generation === undefined ? '' : ` generation ${generation}`}`);
      return analysisReportSchema.parse(report.report);
    });
  }

  async analyze(studyId: string, generation: number): Promise<AnalysisReport> {
    const study = await getStudy(this.db, studyId);
    if (!study) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `no study ${studyId}`);
    const space = parseSpace(study.space);
    const settings = experimentConfig.parse(study.settings);
    const since = study.exploreFrom ?? 0;
    const results = (await listResults(this.db, studyId)).filter((r) => r.trial >= since && r.generation >= 0);
    const history = (await scoreHistory(this.db, studyId)).filter((p) => p.generation <= generation);
    const combinations = await listCombinations(this.db, studyId);
    const generations = await listGenerations(this.db, studyId);

    const elite = combinations.filter((c) => c.classification === 'elite').map((c) => c.key);
    const { enabled, ...driftOptions } = settings.drift;
    // With drift detection off (`--drift off`), nothing is compared: no change is ever raised.
    const drift = enabled
      ? environmentDrift(space, results, {
          generation,
          eliteSize: elite.length,
          ...driftOptions,
          nowMs: generations.find((g) => g.generation === generation)?.createdAt ?? this.clock.now(),
        })
      : { ...NO_DRIFT_CHECK };
    const report: AnalysisReport = {
      studyId,
      ...generationReport(results, history, generation),
      elite,
      changed: drift.changed,
      // The first trial the change is seen in: the evidence from it on is of the new landscape.
      since: drift.since,
      drift: drift as unknown as JsonValue,
    };
    await saveReport(this.db, studyId, generation, report, this.clock.now());
    if (drift.changed) {
      await this.sendEvent(environmentChangeDetectedEvent, { studyId, generation, baseline: drift.baseline, recent: drift.recent, drop: drift.drop, since: drift.since }).catch(() => undefined);
    }
    return report;
  }
}
