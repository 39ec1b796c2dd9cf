import { z } from 'zod';
import { stopTestCommand, triggerTestRequest, VARIABLE_AGENT_ID } from '../../protocol/index.js';
import { getStudy, listRecentResults, listReports, listStudies, setStudyState } from '../../store/index.js';
import type { ApiDeps, ZodInstance } from '../server.js';
import { bestView, combinationsView, generationsView, resolveStudy } from '../views.js';
import { needsBus, type OperatorAgent } from '../operator.js';
import { ApiError } from '../errors.js';
import { parseSpace } from '../../evolution/index.js';

const studyId = z.object({ studyId: z.string().min(1).max(200) }).strict();

/** Studies: the list, their generations, combinations, reports and the one recommendation; trigger and stop. */
export async function studyRoutes(app: ZodInstance, deps: ApiDeps, operator: OperatorAgent | undefined): Promise<void> {
  app.get('/api/studies', { config: { access: 'viewer' }, schema: { summary: 'The studies the store holds, the most recently changed first' } }, async () => ({
    studies: (await listStudies(deps.db))
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .map((s) => ({ studyId: s.studyId, state: s.state, generation: s.generation, trials: s.trials, createdAt: s.createdAt, updatedAt: s.updatedAt })),
  }));

  app.get(
    '/api/studies/:studyId/generations',
    { config: { access: 'viewer' }, schema: { summary: "A study's generations: tests planned and done, failures, best score and value (as `orchestra generations --json`)", params: studyId } },
    async (request) => generationsView(deps.db, await resolveStudy(deps.db, request.params.studyId)),
  );

  app.get(
    '/api/studies/:studyId/combinations',
    {
      config: { access: 'viewer' },
      schema: {
        summary: "A study's combinations with their variables, latest score and class, tests and success rate, best first; with ?generation, those that generation tests",
        params: studyId,
        querystring: z.object({ generation: z.coerce.number().int().min(0).max(1_000_000).optional() }).strict(),
      },
    },
    async (request) => combinationsView(deps.db, await resolveStudy(deps.db, request.params.studyId), request.query.generation),
  );

  app.get(
    '/api/studies/:studyId/evaluations',
    {
      config: { access: 'viewer' },
      schema: {
        summary: "A study's latest evaluations, oldest first: when, which combination, success and value, by which bot",
        params: studyId,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(20_000).default(5_000) }).strict(),
      },
    },
    async (request) => {
      const id = await resolveStudy(deps.db, request.params.studyId);
      const rows = await listRecentResults(deps.db, id, request.query.limit);
      return {
        studyId: id,
        evaluations: rows.map((r) => ({ at: r.at, generation: r.generation, key: r.key, trial: r.trial, success: r.success, value: r.value, botId: r.botId, reason: r.reason })),
      };
    },
  );

  app.get(
    '/api/studies/:studyId/best',
    { config: { access: 'viewer' }, schema: { summary: 'The recommendation, as `orchestra best` and get_best_combination give it (null while nothing has succeeded)', params: studyId } },
    async (request) => ({ best: await bestView(deps.db, await resolveStudy(deps.db, request.params.studyId)) }),
  );

  app.get(
    '/api/studies/:studyId/reports',
    { config: { access: 'viewer' }, schema: { summary: "The analysis agent's report of each generation", params: studyId } },
    async (request) => ({ studyId: request.params.studyId, reports: await listReports(deps.db, await resolveStudy(deps.db, request.params.studyId)) }),
  );

  app.post(
    '/api/studies',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Starts a bounded study, as `optimize` runs one, on this system\'s fleet: a space, and a workload named in the server\'s configuration (`workloads`) or `synthetic`',
        body: z
          .object({
            studyId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1 to 64 letters, digits, _ . -, starting with a letter or digit'),
            space: z.record(z.string(), z.unknown()),
            workload: z.string().min(1).max(64),
            budget: z.number().int().min(1).max(100_000),
            population: z.number().int().min(2).max(1_000).optional(),
            seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
          })
          .strict(),
        response: { 201: z.object({ study: z.object({ studyId: z.string(), workload: z.string(), budget: z.number().int(), agentId: z.string() }) }) },
      },
    },
    async (request, reply) => {
      if (!deps.studies) {
        throw new ApiError(503, 'ORC_API_UNAVAILABLE', 'this process runs no experiment system, so it cannot start a study: ask `orchestra serve --space FILE …` or `orchestra start`');
      }
      const { space, ...rest } = request.body;
      const parsed = parseSpace(space);
      const { agentId } = await deps.studies.launch({ ...rest, space: parsed });
      return reply.code(201).send({ study: { studyId: rest.studyId, workload: rest.workload, budget: rest.budget, agentId } });
    },
  );

  app.post(
    '/api/studies/:studyId/trigger',
    { config: { access: 'admin' }, schema: { summary: 'trigger_test: the running system starts the next generation now, whatever the cadence says', params: studyId } },
    async (request) => {
      const id = await resolveStudy(deps.db, request.params.studyId);
      const agent = needsBus(operator, 'trigger_test');
      const to = driverOf(deps, id);
      await drives(agent, to, id, 'trigger_test');
      return { action: 'trigger_test', ...(await agent.sendRequest(triggerTestRequest, {}, { to, timeoutMs: agent.timeoutMs })) };
    },
  );

  app.post(
    '/api/studies/:studyId/stop',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'stop_test: the running system stops the study after the tests in flight; with no system driving it, it is marked stopped in the store',
        params: studyId,
        body: z.object({ reason: z.string().max(500).optional() }).strict().nullish(),
      },
    },
    async (request) => {
      const id = await resolveStudy(deps.db, request.params.studyId);
      const reason = request.body?.reason;
      const to = driverOf(deps, id);
      const status = operator ? await operator.statusOf(to) : undefined;
      if (operator && status?.details['studyId'] === id) {
        await operator.sendCommand(stopTestCommand, reason === undefined ? {} : { reason }, { to });
        return { action: 'stop_test', via: 'bus', studyId: id };
      }
      const state = (await getStudy(deps.db, id))!.state;
      if (state !== 'running') return { action: 'stop_test', via: 'none', studyId: id, state };
      await setStudyState(deps.db, id, 'stopped', deps.clock.now());
      return { action: 'stop_test', via: 'store', studyId: id, state: 'stopped' };
    },
  );
}

/** The variable agent that drives `studyId`: its own when this process launched it over HTTP, else the system's. */
function driverOf(deps: ApiDeps, studyId: string): string {
  return deps.studies?.agentOf(studyId) ?? VARIABLE_AGENT_ID;
}

/** The running variable agent `agentId` must drive `studyId`: 503 when none runs, 409 when it drives another. */
async function drives(operator: OperatorAgent, agentId: string, studyId: string, action: string): Promise<void> {
  const status = await operator.running(agentId, action);
  const driven = status.details['studyId'];
  if (driven !== studyId) throw new ApiError(409, 'ORC_CLI_NO_RUNNING_SYSTEM', `the running system drives study ${String(driven)}, not ${studyId}: ${action} was not sent`);
}
