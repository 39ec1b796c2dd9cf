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
  type ScorePoint,
  type TestResultRow,
} from '../store/index.js';
import { detectEliteDrift, parseSpace, type Space } from '../evolution/index.js';
import { BaseAgent, type AgentDeps } from './base-agent.js';
import { experimentConfig } from './experiment-config.js';

export interface AnalysisAgentDeps extends AgentDeps {
  db: Db;
}

/** Scores a prediction looks back on: a combination's trend over its last few generations. */
const TREND_POINTS = 5;

export interface Prediction {
  key: string;
  /** The score the trend gives for the next generation. */
  next: number;
  points: number;
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

    const here = results.filter((r) => r.generation === generation);
    const scoresNow = history.filter((p) => p.generation === generation).map((p) => p.score);
    const bestByGeneration = generations
      .filter((g) => g.generation <= generation)
      .map((g) => Math.max(-Infinity, ...history.filter((p) => p.generation === g.generation).map((p) => p.score)))
      .filter(Number.isFinite);
    const predictions = predictAll(history);

    const elite = combinations.filter((c) => c.classification === 'elite').map((c) => c.key);
    const drift = this.drift(space, results, new Set(elite), generation, settings.drift, generations.find((g) => g.generation === generation)?.createdAt ?? this.clock.now());
    const report: AnalysisReport = {
      studyId,
      generation,
      best: scoresNow.length ? Math.max(...scoresNow) : null,
      mean: scoresNow.length ? scoresNow.reduce((a, b) => a + b, 0) / scoresNow.length : null,
      // Distinct combinations among the generation's tests: 1 when every test tried something new.
      diversity: here.length ? new Set(here.map((r) => r.key)).size / here.length : null,
      // How much the best score moved over the last three generations: near 0 once the search has settled.
      convergence: bestByGeneration.length >= 2 ? bestByGeneration.at(-1)! - bestByGeneration[Math.max(0, bestByGeneration.length - 4)]! : null,
      successRate: here.length ? here.filter((r) => r.success).length / here.length : null,
      model: `least-squares trend over each combination's last ${TREND_POINTS} scores, one generation ahead`,
      predictionError: predictionError(history),
      predictions: predictions.slice(0, 20),
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

  private drift(
    space: Space,
    results: readonly TestResultRow[],
    elite: ReadonlySet<string>,
    generation: number,
    options: { windowMs: number; windowGenerations?: number | undefined; threshold: number },
    nowMs: number,
  ) {
    const byGenerations = options.windowGenerations !== undefined;
    const windowStart = byGenerations ? generation - options.windowGenerations! + 1 : nowMs - options.windowMs;
    const position = (r: TestResultRow) => (byGenerations ? r.generation : r.at);
    const sign = space.objective.direction === 'minimize' ? -1 : 1;
    // Baseline results as "higher is better", sorted: a test's performance is the share of them it beats.
    const before = results
      .filter((r) => position(r) < windowStart && r.success && r.value !== null)
      .map((r) => sign * r.value!)
      .sort((a, b) => a - b);
    if (before.length === 0) return { changed: false, baseline: null, recent: null, drop: null, noise: null, explained: 0, elite: [], since: null };
    const performance = (r: TestResultRow): number => {
      if (!r.success || r.value === null) return 0;
      const v = sign * r.value;
      let lo = 0;
      let hi = before.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (before[mid]! <= v) lo = mid + 1;
        else hi = mid;
      }
      return lo / before.length;
    };
    // The elite as the baseline knew it (detectEliteDrift picks the best before the window).
    // Judging whichever combinations are elite now would hide a change, since the
    // combinations that suit the new landscape become the elite.
    const points = results.map((r) => ({ key: r.key, at: position(r), trial: r.trial, score: performance(r), failed: !r.success || r.value === null }));
    return detectEliteDrift(points, {
      now: byGenerations ? generation : nowMs,
      windowMs: byGenerations ? options.windowGenerations! - 1 : options.windowMs,
      threshold: options.threshold,
      eliteSize: elite.size,
    });
  }
}

/** Least-squares slope and intercept through (i, y_i). */
function line(ys: readonly number[]): { slope: number; intercept: number } {
  const n = ys.length;
  if (n < 2) return { slope: 0, intercept: ys[0] ?? 0 };
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i - mx) * (y - my);
    den += (i - mx) ** 2;
  });
  const slope = num / den;
  return { slope, intercept: my - slope * mx };
}

const predictNext = (ys: readonly number[]): number => {
  const recent = ys.slice(-TREND_POINTS);
  const { slope, intercept } = line(recent);
  return intercept + slope * recent.length;
};

function seriesByKey(history: readonly ScorePoint[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (const p of history) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.score]);
  return byKey;
}

export function predictAll(history: readonly ScorePoint[]): Prediction[] {
  return [...seriesByKey(history).entries()]
    .map(([key, ys]) => ({ key, next: predictNext(ys), points: ys.length }))
    .sort((a, b) => b.next - a.next || a.key.localeCompare(b.key));
}

/** Mean absolute error of one-step-ahead predictions over every combination with two or more scores; null before there are any. */
export function predictionError(history: readonly ScorePoint[]): number | null {
  let total = 0;
  let n = 0;
  for (const ys of seriesByKey(history).values()) {
    for (let i = 1; i < ys.length; i++) {
      total += Math.abs(predictNext(ys.slice(0, i)) - ys[i]!);
      n++;
    }
  }
  return n ? total / n : null;
}
