import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DATABASE_URL, REDIS_URL, uniqueName } from '../support/env.js';
import { dropSchema, deleteKeys, exitWithin, runCli, spawnCli, tempDir, waitFor } from './support.js';

interface Summary {
  studyId: string;
  outcome: string;
  run: { generations: number; tests: number; failedTests: number };
  generations: number;
  tests: number;
  failedTests: number;
  best: { variables: Record<string, unknown>; score: number; value: number; metrics: Record<string, number> } | null;
  bots: { total: number; restarted: number; isolated: string[] };
  interrupted: boolean;
}

interface Generations {
  generations: { generation: number; state: string; tests: number; testsDone: number }[];
}

describe('orchestra start', { timeout: 240_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
    // A small sample keeps each compression test to milliseconds.
    fs.mkdirSync(path.join(cwd, 'docs'));
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(cwd, 'docs', `f${i}.txt`), `line ${i} of a document that repeats itself\n`.repeat(400));
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('tunes compression on the embedded default for the generations asked, then prints a summary; run again, it goes on', async () => {
    const first = await runCli(['start', '--generations', '2', '--folder', 'docs', '--json'], { cwd });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('on 8 bots, stored in the embedded store in ./.orchestra; 2 generations');
    expect(first.stderr).toMatch(/generation \d+ · tests \d+\/\d+ · best score .* · \d\/8 bots online/);
    const summary = JSON.parse(first.stdout) as Summary;
    expect(summary).toMatchObject({ studyId: 'compression', outcome: 'finished', generations: 2, run: { generations: 2, tests: summary.tests }, interrupted: false, bots: { total: 8 } });
    expect(summary.tests).toBeGreaterThan(0);
    expect(summary.best!.metrics).toMatchObject({ ratio: expect.any(Number), mbPerSecond: expect.any(Number) });
    expect(['gzip', 'deflate', 'brotli']).toContain(summary.best!.variables.algorithm);

    // --generations counts this run's generations: one more makes three in all.
    const second = await runCli(['start', '--generations', '1', '--folder', 'docs'], { cwd });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('; 1 generation after the 2 done\n');
    expect(second.stdout).toMatch(
      /^finished: 1 generation, \d+ tests \(\d+ failed\) in [\d.]+s\nstudy compression: 3 generations, \d+ tests \(\d+ failed\) in all\nbest: \{.*\}\n {2}score [\d.]+ · value [\d.]+/,
    );
    const generations = JSON.parse((await runCli(['generations', '--json'], { cwd })).stdout) as Generations;
    expect(generations.generations.map((g) => [g.generation, g.state])).toEqual([[0, 'scored'], [1, 'scored'], [2, 'scored']]);
    for (const g of generations.generations) expect(g.testsDone).toBe(g.tests);
    const bots = JSON.parse((await runCli(['bots', '--json'], { cwd })).stdout) as { bots: { botId: string }[] };
    expect(bots.bots).toHaveLength(8);
  });

  it('continues the generation it was killed in: no test result lost or counted twice', async () => {
    const config = path.join(cwd, 'quick.json');
    // Short leases and sweeps, so what the killed process held comes back within seconds; progress
    // lines ten times a second and generations of 72 tests, so the kill lands inside a generation.
    fs.writeFileSync(
      config,
      JSON.stringify({
        registry: { leaseMs: 2_000 },
        monitor: { intervalMs: 500 },
        progress: { intervalMs: 100 },
        experiment: { population: 24, testsPerCombination: 3 },
      }),
    );
    const args = ['start', '--data', 'killed', '--config', 'quick.json', '--folder', 'docs'];
    const first = spawnCli([...args, '--generations', '3'], { cwd });
    const midGeneration = () =>
      [...first.stderr().matchAll(/generation (\d+) · tests (\d+)\/(\d+)/g)].some(([, g, done, total]) => Number(g) >= 1 && Number(done) >= 1 && Number(done) < 0.75 * Number(total));
    try {
      await waitFor('a generation after the first to be under way', midGeneration);
    } catch (err) {
      first.child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}; the process printed:\n${first.stderr()}`);
    }
    first.child.kill('SIGKILL');
    await exitWithin(first);
    const before = JSON.parse((await runCli(['generations', '--json', '--data', 'killed'], { cwd })).stdout) as Generations;
    const cut = before.generations.at(-1)!;
    expect(cut.state).toBe('testing');

    // One generation more: the one cut short, finished by this run.
    const resumed = await runCli([...args, '--generations', '1', '--json'], { cwd });
    expect(resumed.code).toBe(0);
    // The progress knows the resumed generation and its size before it counts its tests.
    const counted = [...resumed.stderr.matchAll(/generation (\d+) · tests (\d+)\/(\d+)/g)].map(([, g, done, total]) => [Number(g), Number(done), Number(total)]);
    expect(counted.length).toBeGreaterThan(0);
    for (const [g, done, total] of counted) {
      expect(g).toBe(cut.generation);
      expect(done).toBeLessThanOrEqual(total!);
      expect(total).toBe(cut.tests);
    }
    const after = JSON.parse((await runCli(['generations', '--json', '--data', 'killed'], { cwd })).stdout) as Generations;
    expect(after.generations.map((g) => g.generation)).toEqual(Array.from({ length: cut.generation + 1 }, (_, i) => i));
    expect((JSON.parse(resumed.stdout) as Summary).run.generations).toBe(1);
    // The generation cut short kept its plan and got every result once.
    expect(after.generations[cut.generation]!.tests).toBe(cut.tests);
    for (const g of after.generations) expect(g.testsDone).toBe(g.tests);
    expect((JSON.parse(resumed.stdout) as Summary).tests).toBe(after.generations.reduce((n, g) => n + g.tests, 0));
  });

  it('serves the HTTP API while it runs, with a one-time admin token; stops gracefully on SIGINT and says how to resume', async () => {
    const serving = spawnCli(['start', '--data', 'serving', '--folder', 'docs'], { cwd });
    const events = new AbortController();
    try {
      const url = await waitFor('the API address', () => /orchestra: API at (http:\/\/127\.0\.0\.1:\d+) /.exec(serving.stderr())?.[1]);
      const token = await waitFor('the admin token', () => /shown this once: (orc_\S+)\n/.exec(serving.stderr())?.[1]);
      const auth = { authorization: `Bearer ${token}` };
      // A study is followed live: a scored generation arrives on the event stream.
      const stream = await fetch(`${url}/events?topics=experiments`, { headers: auth, signal: events.signal });
      expect(stream.status).toBe(200);
      const reader = stream.body!.getReader();
      let text = '';
      while (!text.includes('event: generation_scored')) text += new TextDecoder().decode((await reader.read()).value);
      const status = (await (await fetch(`${url}/api/status`, { headers: auth })).json()) as { studies: { studyId: string; generation: number }[] };
      expect(status.studies).toEqual([expect.objectContaining({ studyId: 'compression' })]);
      const best = await fetch(`${url}/api/studies/compression/best`, { headers: auth });
      expect(best.status).toBe(200);
      expect((await fetch(`${url}/api/status`)).status).toBe(401);
    } finally {
      events.abort();
      serving.child.kill('SIGINT');
    }
    expect(await exitWithin(serving)).toBe(0);
    expect(serving.stderr()).toContain('run start again to resume');
    expect(serving.stdout()).toMatch(/^interrupted: /);

    // Run again on the same store: an admin token exists, so none is printed.
    const again = await runCli(['start', '--data', 'serving', '--folder', 'docs', '--generations', '1'], { cwd });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/orchestra: API at http:\/\/127\.0\.0\.1:\d+ /);
    expect(again.stderr).not.toContain('shown this once');
  });

  it('goes on without the API, saying why, when the default port is taken; refuses a port asked for by --port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const skipped = await runCli(['start', '--data', 'taken', '--folder', 'docs', '--generations', '1'], { cwd, env: { ORCHESTRA_API_PORT: String(port) } });
      expect(skipped.code).toBe(0);
      expect(skipped.stderr).toContain(`orchestra: cannot serve the API on 127.0.0.1:${port}: `);
      expect(skipped.stderr).toContain('going on without it');
      const refused = await runCli(['start', '--data', 'taken', '--folder', 'docs', '--generations', '1', '--port', String(port)], { cwd });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/cannot serve the API on 127\.0\.0\.1:\d+: .*\[ORC_CONFIG_INVALID\]\n$/);
      const none = await runCli(['start', '--data', 'taken', '--folder', 'docs', '--generations', '1', '--no-api'], { cwd });
      expect(none.code).toBe(0);
      expect(none.stderr).not.toContain('API');
    } finally {
      blocker.close();
    }
  });

  it('runs the same system on PostgreSQL and Redis', async () => {
    const schema = uniqueName('cli_start');
    const prefix = uniqueName('cli');
    try {
      const result = await runCli(['start', '--generations', '1', '--folder', 'docs', '--json'], {
        cwd,
        env: { DATABASE_URL, REDIS_URL, ORCHESTRA_SCHEMA: schema, ORCHESTRA_PREFIX: prefix },
      });
      expect(result.stderr).toContain(`stored in PostgreSQL (schema ${schema})`);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ generations: 1, interrupted: false });
    } finally {
      await dropSchema(schema);
      await deleteKeys(prefix);
    }
  });
  it('refuses a workload it cannot run, saying which flag is wrong, before it starts anything', async () => {
    fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify({ objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'float', min: 0, max: 1 } } }));
    const cases: [string[], string][] = [
      [['--command', './x.sh'], '--command needs --space FILE'],
      [['--space', 'space.json'], '--space goes with --command (your evaluator) or --workload synthetic'],
      [['--workload', 'synthetic'], '--workload synthetic needs --space FILE'],
      [['--workload', 'nope'], '--workload nope is not one of compression, synthetic'],
      [['--space', 'space.json', '--command', './x.sh', '--workload', 'synthetic'], 'give one of them'],
      [['--space', 'missing.json', '--command', './x.sh'], 'cannot read --space'],
      [['--bots', '-1'], '--bots'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['start', '--no-api', '--data', 'refused', ...args], { cwd });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(message);
    }
    expect(fs.existsSync(path.join(cwd, 'refused'))).toBe(false);
  });
});
