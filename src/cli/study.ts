import { bestCombinationOf, minSuccessRateOf, readStudyEvidence } from '../agents/index.js';
import { recommendation } from '../evolution/index.js';
import { OrchestraError, type BestCombination } from '../protocol/index.js';
import { getStudy, listStudies, type Db } from '../store/index.js';

export interface StudyBest extends BestCombination {
  /** Mean of each metric over the successful tests it was judged on. */
  metrics: Record<string, number>;
}

/**
 * The study's recommendation as it stands, from the store alone (the agents
 * need not be running): what `get_best_combination` answers with the study's
 * own filters, with its metrics. `best`, the summary of `start` and the
 * `best` of `optimize` all print this.
 */
export async function bestOf(db: Db, studyId: string): Promise<StudyBest | null> {
  const study = await getStudy(db, studyId);
  if (!study) return null;
  const evidence = await readStudyEvidence(db, study);
  const recommended = recommendation(evidence, { minSuccessRate: minSuccessRateOf(study.settings) });
  if (!recommended) return null;
  const judged = new Set(recommended.evidence.filter((o) => o.key === recommended.best.key && o.success).map((o) => o.trial));
  const runs = evidence.results.filter((r) => r.generation >= 0 && r.key === recommended.best.key && judged.has(r.trial)).map((r) => r.metrics);
  const metrics: Record<string, number> = {};
  for (const name of new Set(runs.flatMap((m) => Object.keys(m)))) {
    const values = runs.map((m) => m[name]).filter((v): v is number => typeof v === 'number');
    if (values.length) metrics[name] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  return { ...bestCombinationOf(studyId, recommended), metrics };
}

/** `--study`, or the study most recently changed. */
export async function chooseStudy(db: Db, studyId: string | undefined): Promise<string> {
  if (studyId) return studyId;
  const studies = await listStudies(db);
  const latest = studies.sort((a, b) => b.updatedAt - a.updatedAt)[0];
  if (!latest) throw new OrchestraError('ORC_AGENT_NOT_FOUND', 'this store holds no study yet: run orchestra start (or optimize with --data)');
  return latest.studyId;
}
