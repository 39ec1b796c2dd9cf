import { z } from 'zod';
import { taskToJson, TASK_STATUSES, type TaskStatus } from '../../protocol/index.js';
import { TASK_CURSOR } from '../../registry/index.js';
import type { ApiDeps, ZodInstance } from '../server.js';

/** `a,b` or `a&…&a` in a query: one list either way. */
const list = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').filter(Boolean) : v), z.array(item).max(50)).optional();

const taskId = z.object({ taskId: z.string().min(1).max(200) }).strict();
const taskJson = z.record(z.string(), z.unknown());

/** Tasks: list, read, create (one or many, with idempotency keys), cancel, retry, counts. */
export async function taskRoutes(app: ZodInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/api/tasks',
    {
      config: { access: 'viewer' },
      schema: {
        summary: "Tasks, newest first, filtered by status, kind and task id (`search`: the id or its start), a page at a time: pass the reply's `next` as `cursor` for the next page. Results larger than 64 KiB are left out of the list",
        description: 'A cursor pages by registration order, so tasks registered while a client pages neither repeat nor shift a page; `offset` is kept for a one-off jump and does shift.',
        querystring: z
          .object({
            status: list(z.enum(TASK_STATUSES)),
            kind: list(z.string().min(1).max(200)),
            limit: z.coerce.number().int().min(1).max(1000).default(50),
            offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
            cursor: z.string().regex(TASK_CURSOR, 'must be the `next` of an earlier page').optional(),
            search: z.string().min(1).max(100).describe('Only tasks whose id is this or starts with it (matched literally)').optional(),
          })
          .strict(),
        response: { 200: z.object({ tasks: z.array(taskJson), next: z.string().nullable() }) },
      },
    },
    async (request) => {
      const { status, kind, limit, offset, cursor, search } = request.query;
      const page = await deps.registry.page({
        ...(status ? { status: status as TaskStatus[] } : {}),
        ...(kind ? { kind } : {}),
        limit,
        offset,
        ...(cursor ? { cursor } : {}),
        ...(search !== undefined ? { idPrefix: search } : {}),
      });
      return { tasks: page.tasks.map(taskToJson), next: page.next };
    },
  );

  app.get(
    '/api/tasks/stats',
    { config: { access: 'viewer' }, schema: { summary: 'Counts of tasks by status and by priority' } },
    async () => deps.registry.counts(),
  );

  app.get(
    '/api/tasks/:taskId',
    {
      config: { access: 'viewer' },
      schema: { summary: 'One task, its whole result, and the reports of attempts that had lost their lease', params: taskId, response: { 200: z.object({ task: taskJson, lateReports: z.array(z.unknown()) }) } },
    },
    async (request) => {
      const task = await deps.registry.get(request.params.taskId);
      return { task: taskToJson(task), lateReports: await deps.registry.lateReports(task.taskId) };
    },
  );

  app.post(
    '/api/tasks',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Registers one task, or many at once (all or none); a repeated idempotency key returns the task it named',
        // A body with `tasks` is a batch, and nothing else: an empty or malformed batch is not read as one task.
        body: z
          .record(z.string(), z.unknown())
          .superRefine((body, ctx) => {
            if (!('tasks' in body)) return;
            const batch = body.tasks;
            if (Object.keys(body).length > 1) ctx.addIssue({ code: 'custom', path: ['tasks'], message: 'a batch is {"tasks": [...]} with nothing beside it' });
            else if (!Array.isArray(batch) || batch.length < 1 || batch.length > 10_000) ctx.addIssue({ code: 'custom', path: ['tasks'], message: 'must be a list of 1 to 10000 tasks' });
          })
          .describe('One task ({"kind", "payload", "priority", "dependsOn", "idempotencyKey", "maxAttempts", "timeoutMs", "taskId"}), or {"tasks": [...]} to register many, all or none'),
        response: { 201: z.object({ tasks: z.array(taskJson.and(z.object({ created: z.boolean() }))) }) },
      },
    },
    async (request, reply) => {
      const body = request.body as { tasks?: unknown[] };
      const inputs = Array.isArray(body.tasks) ? body.tasks : [request.body];
      const registrations = await deps.registry.registerMany(inputs);
      return reply.code(201).send({ tasks: registrations.map((r) => ({ ...taskToJson(r.task), created: r.created })) });
    },
  );

  app.post(
    '/api/tasks/:taskId/cancel',
    {
      config: { access: 'admin' },
      schema: { summary: 'Cancels a waiting or running task', params: taskId, body: z.object({ reason: z.string().min(1).max(1000).optional() }).strict().nullish() },
    },
    async (request) => ({ task: taskToJson(await deps.registry.cancel(request.params.taskId, request.body?.reason ?? 'cancelled through the API')) }),
  );

  app.post(
    '/api/tasks/:taskId/retry',
    { config: { access: 'admin' }, schema: { summary: 'Runs a failed or cancelled task again, with the dependents its failure failed', params: taskId } },
    async (request) => ({ tasks: (await deps.registry.retry(request.params.taskId)).map(taskToJson) }),
  );
}
