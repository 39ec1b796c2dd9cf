import { z } from 'zod';
import { defineRequest } from '../../src/protocol/index.js';

/** What the replica fault test and the replicas it starts agree on. */
export const echoRequest = defineRequest({
  name: 'echo',
  to: 'echo',
  data: z.object({ n: z.number().int() }).strict(),
  reply: z.object({ n: z.number().int(), pid: z.number().int() }),
});
