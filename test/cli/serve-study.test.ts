import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DATABASE_URL, REDIS_URL, uniqueName } from '../support/env.js';
import { deleteKeys, dropSchema, exitWithin, runCli, spawnCli, tempDir, waitFor, type CliProcess } from './support.js';

interface Generations {
  generations: { generation: number; state: string; tests: number; testsDone: number }[];
}

/**
 * The distributed form: two `orchestra serve` processes running one study on
 * the real PostgreSQL and Redis, and three bots joined over HTTP: a steady
 * one, a slow one, and one whose evaluator fails half its runs. One server
 * drives, the other stands by; the driver is killed with SIGKILL (and the
 * steady bot with it), the other takes over, finishes the study and runs a
 * campaign; a server started in the killed one's place answers the same.
 */
describe('orchestra serve with a study, two servers, bots over HTTP', { timeout: 240_000 }, () => {
  let cwd: string;
  let runs: string;
  beforeAll(() => {
    cwd = tempDir();
    fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify({ name: 'toy', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'float', min: -5, max: 5 } } }));
    // Every run of every bot is one line: the bot, the trial.
    runs = path.join(cwd, 'runs');
    fs.writeFileSync(path.join(cwd, 'evaluate.sh'), `#!/bin/sh\ncat > /dev/null\necho "$BOT $ORCHESTRA_TRIAL" >> ${runs}\necho "{\\"success\\": true, \\"value\\": $ORCHESTRA_TRIAL}"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(cwd, 'slow.sh'), `#!/bin/sh\nsleep 0.3\nexec ./evaluate.sh\n`, { mode: 0o755 });
    // Runs 2 and 3 of every four fail (exit 1): half its runs, two in a row.
    fs.writeFileSync(
      path.join(cwd, 'flaky.sh'),
      `#!/bin/sh\nn=$(( $(cat flaky.count 2>/dev/null || echo 0) + 1 ))\necho $n > flaky.count\nif [ $((n % 4)) -eq 2 ] || [ $((n % 4)) -eq 3 ]; then cat > /dev/null; echo "flaky run $n" >> ${runs}; exit 1; fi\nexec ./evaluate.sh\n`,
      { mode: 0o755 },
    );
    // Short leases and timeouts, so a killed driver's study and a killed bot's tests come back within seconds;
    // two failures in a row isolate a bot.
    fs.writeFileSync(
      path.join(cwd, 'study.json'),
      JSON.stringify({
        experiment: { driverLeaseMs: 3_000, population: 8, testsPerCombination: 2, maxGenerations: 3, campaignPollMs: 250 },
        registry: { leaseMs: 3_000 },
        monitor: { intervalMs: 500 },
        fleet: { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3_000, isolateAfterFailures: 2 },
      }),
    );
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it("runs the study's agents --agents names, and refuses a name it does not know", async () => {
    const refused = await runCli(['serve', '--space', 'space.json', '--workload', 'synthetic', '--agents', 'bots,nope', '--data', 'refused'], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--agents: unknown agent "nope" (known: orchestrator, dispatcher, monitor, researcher, writer, variables, bots, analysis, campaigns)');
    const some = spawnCli(['serve', '--space', 'space.json', '--workload', 'synthetic', '--agents', 'bots,analysis,writer', '--port', '0', '--data', 'some'], { cwd });
    try {
      await waitFor('the agents it serves', () => some.stderr().includes('orchestra: serving writer, bots, analysis for study toy'));
    } finally {
      some.child.kill('SIGTERM');
    }
    expect(await exitWithin(some)).toBe(0);
  });

  it('lets one drive and the other take over when the driver and a bot are killed: every test done once, the evaluator run no more than planned and retried, the failing bot isolated, a campaign run, both servers answering the same best', async () => {
    const schema = uniqueName('cli_serve_study');
    const prefix = `${uniqueName('serve_study')}:`;
    const env = { DATABASE_URL, REDIS_URL, ORCHESTRA_SCHEMA: schema, ORCHESTRA_PREFIX: prefix };
    const args = ['serve', '--config', 'study.json', '--space', 'space.json', '--workload', 'synthetic', '--port', '0'];
    const procs: CliProcess[] = [];
    const urlOf = (p: CliProcess) => /API at (http:\/\/\S+) /.exec(p.stderr())?.[1];
    try {
      const first = spawnCli(args, { cwd, env });
      procs.push(first);
      const admin = await waitFor('the first admin token', () => /shown this once: (orc_\S+)/.exec(first.stderr())?.[1]);
      await waitFor('the first server to serve the study', () => first.stderr().includes('for study toy'));
      const second = spawnCli(args, { cwd, env });
      procs.push(second);
      await waitFor('the second server to stand by', () => second.stderr().includes('standing by: study toy is driven by'));
      const bot = (server: CliProcess, id: string, exec: string, capacity = 3) => {
        const p = spawnCli(['bot', '--api', urlOf(server)!, '--exec', `test=${exec}`, '--id', id, '--capacity', String(capacity)], { cwd, env: { ORCHESTRA_TOKEN: admin, BOT: id } });
        procs.push(p);
        return p;
      };
      const steady = bot(first, 'steady', './evaluate.sh');
      bot(second, 'slow', './slow.sh');
      bot(second, 'flaky', './flaky.sh', 1);
      const read = async <T>(server: CliProcess, route: string, init: RequestInit = {}) => {
        const res = await fetch(`${urlOf(server)}${route}`, { ...init, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } });
        return (res.ok ? res.json() : undefined) as T | undefined;
      };
      const gently = async () => new Promise((r) => setTimeout(r, 200));
      await waitFor('a first generation scored', async () => (await gently(), (await read<Generations>(second, '/api/studies/toy/generations'))?.generations.some((g) => g.state === 'scored')));

      first.child.kill('SIGKILL');
      steady.child.kill('SIGKILL');
      await waitFor('the second server to take over', () => second.stderr().includes('took over study toy'));
      const done = await waitFor('three generations scored', async () => {
        await gently();
        const view = await read<Generations>(second, '/api/studies/toy/generations');
        return view && view.generations.filter((g) => g.state === 'scored').length === 3 ? view : undefined;
      });
      // Every planned test done once: none lost with the killed driver or bot, none counted twice.
      for (const g of done.generations) expect(g.testsDone, `generation ${g.generation}`).toBe(g.tests);
      const planned = done.generations.reduce((n, g) => n + g.tests, 0);

      // A campaign of the best combination, on the bots that are left.
      const started = await read<{ campaign: { campaignId: string } }>(second, '/api/campaigns', { method: 'POST', body: JSON.stringify({ runs: 4 }) });
      const campaignId = started!.campaign.campaignId;
      const campaign = await waitFor('the campaign to finish', async () => {
        await gently();
        const c = (await read<{ campaign: { state: string; succeeded: number; failed: number } }>(second, `/api/campaigns/${campaignId}`))?.campaign;
        return c?.state === 'finished' ? c : undefined;
      });
      expect(campaign).toMatchObject({ succeeded: 4, failed: 0 });

      // The failing bot, and only it, is isolated; the slow one did its share.
      const fleet = (await read<{ bots: { botId: string; state: string; completed: number; failed: number }[] }>(second, '/api/bots'))!.bots;
      const byId = new Map(fleet.map((b) => [b.botId, b]));
      expect(fleet.filter((b) => b.state === 'isolated').map((b) => b.botId)).toEqual(['flaky']);
      expect(byId.get('slow')!.completed).toBeGreaterThan(0);
      // The evaluator ran every planned test and campaign run, plus at most the failed attempts
      // (run again elsewhere) and what the killed bot had in hand (its capacity).
      const lines = fs.readFileSync(runs, 'utf8').trim().split('\n');
      const evaluations = lines.filter((l) => !l.startsWith('flaky run'));
      expect(evaluations.length).toBeGreaterThanOrEqual(planned + 4);
      expect(lines.length).toBeLessThanOrEqual(planned + 4 + byId.get('flaky')!.failed + 3);

      // A server started in the killed one's place answers the same best combination.
      const third = spawnCli(args, { cwd, env });
      procs.push(third);
      await waitFor('the third server to serve', () => urlOf(third) !== undefined && third.stderr().includes('for study toy'));
      const best = await read<{ best: { key: string; value: number } | null }>(second, '/api/studies/toy/best');
      expect(best!.best).not.toBeNull();
      expect(await read(third, '/api/studies/toy/best')).toEqual(best);
    } finally {
      // Bots first, while their servers can still take their last reports; then the servers.
      for (const p of procs.reverse()) {
        p.child.kill('SIGTERM');
        await exitWithin(p);
      }
      await dropSchema(schema);
      await deleteKeys(prefix);
    }
  });
});
