import { OrchestraError } from '../protocol/index.js';
import { getStudy, listStudies, type Db } from '../store/index.js';
import { chooseStudy } from './study.js';

/**
 * `--study ID` checked against the store, or the most recently active study.
 * A study named but absent is an error naming the studies that exist: a
 * mistyped id must not read as a study with nothing in it yet.
 */
export async function studyFromFlag(db: Db, studyId: string | undefined): Promise<string> {
  if (studyId === undefined) return chooseStudy(db, undefined);
  if (await getStudy(db, studyId)) return studyId;
  const known = (await listStudies(db)).map((s) => s.studyId);
  throw new OrchestraError(
    'ORC_CLI_STUDY_NOT_FOUND',
    `no study "${studyId}" in this store; ${known.length ? `it holds: ${known.join(', ')}` : 'it holds no study yet (run orchestra start, or optimize with --data)'}`,
  );
}
