import { queryObjects } from 'node:v8';
import { describe, it, expect, afterEach } from 'vitest';
import { Redis } from 'ioredis';
import { createResponse, ManualClock } from '../../src/protocol/index.js';
import { createRedisBus, type RedisBus } from '../../src/bus/index.js';
import { REDIS_URL, uniqueName } from '../support/env.js';
import { deletePrefix } from './harness.js';
import { message } from './support.js';

describe('BlockingReader', () => {
  const clock = new ManualClock();
  const prefix = uniqueName('reader');
  const buses: RedisBus[] = [];

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
    const client = new Redis(REDIS_URL);
    await deletePrefix(client, prefix);
    client.disconnect();
  });

  /**
   * A reader that raced each read against a promise settled only by `stop`
   * left one reaction per read on that promise, holding the read's reply: the
   * heap grew with every message. Counting the promises alive after a full
   * collection catches any such per-read remainder, whatever its cause: 500
   * round trips are 1,000 reads (the inbox's and the reply stream's).
   */
  it('keeps nothing alive per read: the promises on the heap do not grow with the number of round trips', async () => {
    const responder = await createRedisBus({ url: REDIS_URL, prefix, clock });
    const caller = await createRedisBus({ url: REDIS_URL, prefix, clock });
    buses.push(responder, caller);
    await responder.subscribe({ inbox: 'echo' }, (req) => responder.send(createResponse(req, 'echo', { data: req.data }, clock.now())));
    const roundTrips = async (count: number) => {
      for (let i = 0; i < count; i++) await caller.request(message(clock, { type: 'request', action: 'echo', to: 'echo', data: { i } }));
    };

    await roundTrips(100);
    const before = queryObjects(Promise, { format: 'count' });
    await roundTrips(500);
    const after = queryObjects(Promise, { format: 'count' });

    expect(after - before).toBeLessThan(100);
  });
});
