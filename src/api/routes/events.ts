import { z } from 'zod';
import { ApiError } from '../errors.js';
import { STREAMED_TOPICS, type EventStream } from '../events.js';
import type { ZodInstance } from '../server.js';

const eventsQuery = z
  .object({
    /** Comma-separated topics; all streamed topics when absent. */
    topics: z.string().max(1000).optional(),
    /** For clients that cannot set the Last-Event-ID header. */
    lastEventId: z.string().max(200).optional(),
  })
  .strict();

/** `/events`: the bus events a client needs, as Server-Sent Events. */
export async function eventRoutes(app: ZodInstance, stream: EventStream | undefined): Promise<void> {
  app.get(
    '/events',
    {
      config: { access: 'viewer' },
      schema: {
        summary: `Bus events as Server-Sent Events (topics: ${STREAMED_TOPICS.join(', ')}); resumable with Last-Event-ID, with a heartbeat comment`,
        querystring: eventsQuery,
      },
    },
    async (request, reply) => {
      if (!stream) throw new ApiError(503, 'ORC_API_UNAVAILABLE', 'this process has no bus, so no events to stream; ask a process that runs agents (orchestra serve or start)');
      const topics = new Set(request.query.topics === undefined ? STREAMED_TOPICS : request.query.topics.split(',').map((t) => t.trim()).filter(Boolean));
      const unknown = [...topics].filter((t) => !STREAMED_TOPICS.includes(t));
      if (unknown.length || topics.size === 0) {
        throw new ApiError(400, 'ORC_API_INVALID_REQUEST', `query.topics: ${unknown.length ? `unknown topic ${unknown.join(', ')}` : 'names no topic'}; the topics are ${STREAMED_TOPICS.join(', ')}`, {
          issues: [{ field: 'query.topics', message: 'unknown topic' }],
        });
      }
      const header = request.headers['last-event-id'];
      const lastEventId = typeof header === 'string' && header.length <= 200 ? header : request.query.lastEventId;
      reply.hijack();
      stream.attach(reply.raw, topics, lastEventId);
    },
  );
}
