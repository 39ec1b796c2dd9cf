import { z } from 'zod';
import { OrchestraError } from '../../protocol/index.js';
import { getStudy, listGenerations, listStudies } from '../../store/index.js';
import { bestOf } from '../../agents/index.js';
import type { ApiDeps, ZodInstance } from '../server.js';

const studyId = z.object({ studyId: z.string().min(1).max(200) }).strict();

/** Studies: the list, their generations, and the one recommendation. */
export async function studyRoutes(app: ZodInstance, deps: ApiDeps): Promise<void> {
  const known = async (id: string) => {
    if (await getStudy(deps.db, id)) return;
    const ids = (await listStudies(deps.db)).map((s) => s.studyId);
    throw new OrchestraError('ORC_CLI_STUDY_NOT_FOUND', `no study ${id} in this store (it holds: ${ids.join(', ') || 'none'})`);
  };

  app.get('/api/studies', { config: { access: 'viewer' }, schema: { summary: 'The studies the store holds' } }, async () => ({
    studies: (await listStudies(deps.db)).map((s) => ({ studyId: s.studyId, state: s.state, generation: s.generation, trials: s.trials, createdAt: s.createdAt, updatedAt: s.updatedAt })),
  }));

  app.get(
    '/api/studies/:studyId/generations',
    { config: { access: 'viewer' }, schema: { summary: "A study's generations with their tests and scores", params: studyId } },
    async (request) => {
      await known(request.params.studyId);
      return { generations: await listGenerations(deps.db, request.params.studyId) };
    },
  );

  app.get(
    '/api/studies/:studyId/best',
    { config: { access: 'viewer' }, schema: { summary: 'The recommendation, as `orchestra best` and get_best_combination give it', params: studyId } },
    async (request) => {
      await known(request.params.studyId);
      return { best: await bestOf(deps.db, request.params.studyId) };
    },
  );
}
