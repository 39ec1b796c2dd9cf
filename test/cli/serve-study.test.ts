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
 * the real PostgreSQL and Redis, and bots joined over HTTP to each. One
 * drives, the other stands by; when the driver is killed with SIGKILL (and the
 * bot joined to it with it), the other takes over and finishes the study on
 * the remaining bot, with every planned test done once.
 */
describe('orchestra serve with a study, two servers, bots over HTTP', { timeout: 240_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
    fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify({ name: 'toy', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'float', min: -5, max: 5 } } }));
    fs.writeFileSync(path.join(cwd, 'evaluate.sh'), '#!/bin/sh\ncat > /dev/null\necho "{\\"success\\": true, \\"value\\": $ORCHESTRA_TRIAL}"\n', { mode: 0o755 });
    // A short driver lease and task leases, so a killed driver's study and tests come back within seconds.
    fs.writeFileSync(
      path.join(cwd, 'study.json'),
      JSON.stringify({ experiment: { driverLeaseMs: 3_000, population: 8, testsPerCombination: 2, maxGenerations: 3 }, registry: { leaseMs: 3_000 }, monitor: { intervalMs: 500 }, fleet: { heartbeatIntervalMs: 1_000 } }),
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

  it('lets one drive, and the other take over and finish when the driver and its bot are killed', async () => {
    const schema = uniqueName('cli_serve_study');
    const prefix = `${uniqueName('serve_study')}:`;
    const env = { DATABASE_URL, REDIS_URL, ORCHESTRA_SCHEMA: schema, ORCHESTRA_PREFIX: prefix };
    const args = ['serve', '--config', 'study.json', '--space', 'space.json', '--workload', 'synthetic', '--port', '0'];
    const procs: CliProcess[] = [];
    try {
      const first = spawnCli(args, { cwd, env });
      procs.push(first);
      const admin = await waitFor('the first admin token', () => /shown this once: (orc_\S+)/.exec(first.stderr())?.[1]);
      const urlOf = (p: CliProcess) => /API at (http:\/\/\S+) /.exec(p.stderr())?.[1];
      await waitFor('the first server to serve the study', () => first.stderr().includes('for study toy'));
      const second = spawnCli(args, { cwd, env });
      procs.push(second);
      await waitFor('the second server to stand by', () => second.stderr().includes('standing by: study toy is driven by'));
      const bots = [first, second].map((server, i) => {
        const bot = spawnCli(['bot', '--api', urlOf(server)!, '--exec', 'test=./evaluate.sh', '--id', `b${i + 1}`], { cwd, env: { ORCHESTRA_TOKEN: admin } });
        procs.push(bot);
        return bot;
      });
      const read = async (server: CliProcess, route: string) => {
        const res = await fetch(`${urlOf(server)}${route}`, { headers: { authorization: `Bearer ${admin}` } });
        return res.ok ? res.json() : undefined;
      };
      await waitFor('a first generation scored', async () => ((await read(second, '/api/studies/toy/generations')) as Generations | undefined)?.generations.some((g) => g.state === 'scored'));

      first.child.kill('SIGKILL');
      bots[0]!.child.kill('SIGKILL');
      await waitFor('the second server to take over', () => second.stderr().includes('took over study toy'));
      const done = await waitFor('three generations scored', async () => {
        const view = (await read(second, '/api/studies/toy/generations')) as Generations | undefined;
        return view && view.generations.filter((g) => g.state === 'scored').length === 3 ? view : undefined;
      });
      // Every planned test done once: none lost with the killed driver or bot, none counted twice.
      for (const g of done.generations) expect(g.testsDone, `generation ${g.generation}`).toBe(g.tests);
      const fleet = (await read(second, '/api/bots')) as { bots: { botId: string; completed: number }[] };
      expect(fleet.bots.find((b) => b.botId === 'b2')!.completed).toBeGreaterThan(0);
      const best = (await read(second, '/api/studies/toy/best')) as { best: { value: number } | null };
      expect(best.best).not.toBeNull();
    } finally {
      for (const p of procs) p.child.kill('SIGTERM');
      for (const p of procs) await exitWithin(p);
      await dropSchema(schema);
      await deleteKeys(prefix);
    }
  });
});
