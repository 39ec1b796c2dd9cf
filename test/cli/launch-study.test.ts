import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { exitWithin, spawnCli, tempDir, waitFor } from './support.js';

/**
 * A study started over HTTP on a running `start`: a space and a workload the
 * server's configuration names, run on that system's fleet beside its own
 * study, bounded by its budget.
 */
describe('studies started over HTTP, and campaigns of the production job, on a running start', { timeout: 180_000 }, () => {
  let cwd: string;
  const counted = () => path.join(cwd, 'counted');
  const space = { name: 'launched', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'float', min: -5, max: 5 } } };
  beforeAll(() => {
    cwd = tempDir();
    fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify({ ...space, name: 'own' }));
    fs.writeFileSync(path.join(cwd, 'prod.sh'), `#!/bin/sh\ncat > /dev/null\necho "$ORCHESTRA_TRIAL" >> "${path.join(cwd, 'production')}"\necho '{"success": true, "value": 1}'\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(cwd, 'count.sh'), `#!/bin/sh\ncat > /dev/null\necho "$ORCHESTRA_TRIAL" >> "${counted()}"\necho '{"success": true, "value": 2.5}'\n`, { mode: 0o755 });
    // The system's own study runs one small generation, then waits for the new year.
    fs.writeFileSync(
      path.join(cwd, 'orchestra.config.json'),
      JSON.stringify({ workloads: { count: { command: './count.sh' } }, experiment: { population: 4, testsPerCombination: 1, retests: 0, cadence: '0 0 1 1 *' } }),
    );
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('runs a configured workload within its budget, refuses an unknown workload, a bad space and a taken id; a campaign runs the production job', async () => {
    const system = spawnCli(['start', '--workload', 'synthetic', '--space', 'space.json', '--campaign-command', './prod.sh', '--bots', '3', '--port', '0', '--data', 'd'], { cwd });
    try {
      const url = await waitFor('the API address', () => /API at (http:\/\/\S+) /.exec(system.stderr())?.[1]);
      const admin = await waitFor('the first admin token', () => /shown this once: (orc_\S+)/.exec(system.stderr())?.[1]);
      const call = async (method: 'GET' | 'POST', route: string, body?: unknown) => {
        const res = await fetch(`${url}${route}`, {
          method,
          headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: res.status, body: (await res.json()) as Record<string, any> };
      };

      const unknown = await call('POST', '/api/studies', { studyId: 'x', space, workload: './count.sh', budget: 3 });
      expect(unknown).toMatchObject({ status: 400, body: { message: expect.stringContaining('not a workload of this server; it has: synthetic, count') } });
      const badSpace = await call('POST', '/api/studies', { studyId: 'x', space: { variables: {} }, workload: 'count', budget: 3 });
      expect(badSpace.status).toBe(400);

      const launched = await call('POST', '/api/studies', { studyId: 'launched', space, workload: 'count', budget: 6, population: 3 });
      expect(launched).toEqual({ status: 201, body: { study: { studyId: 'launched', workload: 'count', budget: 6, agentId: 'variables.launched' } } });
      expect((await call('POST', '/api/studies', { studyId: 'launched', space, workload: 'count', budget: 6 })).status).toBe(409);
      const synthetic = await call('POST', '/api/studies', { studyId: 'drawn', space, workload: 'synthetic', budget: 4 });
      expect(synthetic.status).toBe(201);

      const state = async (id: string) => ((await call('GET', '/api/studies')).body.studies as { studyId: string; state: string }[]).find((s) => s.studyId === id)?.state;
      // Polled gently: the API's rate limit counts these too.
      const finished = (id: string) => async () => (await new Promise((r) => setTimeout(r, 250)), (await state(id)) === 'finished');
      await waitFor('the launched study to spend its budget', finished('launched'));
      await waitFor('the synthetic one too', finished('drawn'));
      // Never more evaluations than the budget: one attempt each.
      const ran = fs.readFileSync(counted(), 'utf8').trim().split('\n');
      expect(ran.length).toBeGreaterThan(0);
      expect(ran.length).toBeLessThanOrEqual(6);
      expect((await call('GET', '/api/studies/launched/best')).body).toMatchObject({ best: { value: 2.5 } });
      // The system's own study went on beside them.
      expect(await state('own')).toBeDefined();

      // A campaign of the system's own study runs --campaign-command, not the evaluator.
      const campaign = await call('POST', '/api/campaigns', { runs: 3 });
      expect(campaign.status).toBe(201);
      const { campaignId } = campaign.body.campaign as { campaignId: string };
      await waitFor('the campaign to finish', async () => (await new Promise((r) => setTimeout(r, 250)), (await call('GET', `/api/campaigns/${campaignId}`)).body.campaign.state === 'finished'));
      expect((await call('GET', `/api/campaigns/${campaignId}`)).body.campaign).toMatchObject({ runs: 3, succeeded: 3, failed: 0 });
      expect(fs.readFileSync(path.join(cwd, 'production'), 'utf8').trim().split('\n').sort()).toEqual(['0', '1', '2']);
    } finally {
      system.child.kill('SIGTERM');
    }
    expect(await exitWithin(system)).toBe(0);
  });
});
