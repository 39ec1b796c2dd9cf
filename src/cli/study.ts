import { OrchestraError } from '../protocol/index.js';
import { listStudies, type Db } from '../store/index.js';

export { bestOf, type StudyBest } from '../agents/index.js';

/** `--study`, or the study most recently changed. */
export async function chooseStudy(db: Db, studyId: string | undefined): Promise<string> {
  if (studyId) return studyId;
  const studies = await listStudies(db);
  const latest = studies.sort((a, b) => b.updatedAt - a.updatedAt)[0];
  if (!latest) throw new OrchestraError('ORC_AGENT_NOT_FOUND', 'this store holds no study yet: run orchestra start (or optimize with --data)');
  return latest.studyId;
}
