import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { exitWithin, runCli, spawnCli, tempDir, waitFor } from './support.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * `orchestra bot` as its own process, joined over HTTP to a running
 * `orchestra start` (the embedded default): it registers with the token it is
 * given, runs the tests the fleet hands it through its evaluator command, and
 * drains on SIGTERM; a second signal kills its evaluator and exits.
 */
describe('orchestra bot', { timeout: 240_000 }, () => {
  let cwd: string;

  beforeAll(() => {
    cwd = tempDir();
    fs.mkdirSync(path.join(cwd, 'docs'));
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(cwd, 'docs', `f${i}.txt`), `line ${i} of a document that repeats itself\n`.repeat(400));
    // Each evaluation leaves a line, so the test counts what really ran.
    fs.writeFileSync(path.join(cwd, 'evaluate.sh'), `#!/bin/sh\ncat > /dev/null\necho "$ORCHESTRA_TRIAL" >> "${path.join(cwd, 'ran')}"\necho '{"success": true, "value": 1.5, "ratio": 2}'\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(cwd, 'hang.sh'), `#!/bin/sh\ncat > /dev/null\nsleep 1000 &\necho $! >> "${path.join(cwd, 'hung')}"\nwait\n`, { mode: 0o755 });
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('refuses to start without a server, a token or an evaluator, or when the server cannot be reached, saying which', async () => {
    const noApi = await runCli(['bot', '--exec', 'test=./evaluate.sh'], { cwd });
    expect(noApi.code).toBe(2);
    expect(noApi.stderr).toContain('a bot needs --api URL');
    const url = 'http://127.0.0.1:9';
    const noToken = await runCli(['bot', '--api', url, '--exec', 'test=./evaluate.sh'], { cwd, env: { ORCHESTRA_TOKEN: undefined } });
    expect(noToken.stderr).toContain('a bot needs a registration token');
    const noExec = await runCli(['bot', '--api', url, '--token', 'orc_x'], { cwd });
    expect(noExec.stderr).toContain('at least one --exec test=COMMAND');
    const unreachable = await runCli(['bot', '--api', url, '--token', 'orc_x', '--exec', 'test=./evaluate.sh', '--id', 'nobody'], { cwd });
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toContain(`cannot reach the API at ${url}`);
  });

  it('joins a running start, runs the tests the fleet hands it, drains and leaves on SIGTERM; a second signal kills its evaluator', async () => {
    const system = spawnCli(['start', '--folder', 'docs', '--port', '0'], { cwd });
    const url = await waitFor('the API address', () => /API at (http:\/\/\S+) /.exec(system.stderr())?.[1]);
    const admin = await waitFor('the first admin token', () => /shown this once: (orc_\S+)/.exec(system.stderr())?.[1]);
    const bot = async (id: string) => {
      const res = await fetch(`${url}/api/bots/${id}`, { headers: { authorization: `Bearer ${admin}` } });
      return res.ok ? ((await res.json()) as { bot: { state: string; completed: number; transport: string } }).bot : undefined;
    };
    try {
      // A registration token, made through the running system's API: its store is held by start.
      const made = await runCli(['tokens', 'create', '--role', 'bot', '--name', 'fleet', '--api', url], { cwd, env: { ORCHESTRA_TOKEN: admin } });
      expect(made.code).toBe(0);
      expect(made.stderr).toContain('a registration token');
      const registration = made.stdout.trim();
      const listed = JSON.parse((await runCli(['tokens', 'list', '--json', '--api', url], { cwd, env: { ORCHESTRA_TOKEN: admin } })).stdout) as { name: string; role: string; botId: string | null }[];
      expect(listed).toContainEqual(expect.objectContaining({ name: 'fleet', role: 'bot', botId: null }));
      const remote = spawnCli(['bot', '--api', url, '--exec', 'test=./evaluate.sh', '--id', 'remote-a', '--group', 'lab'], { cwd, env: { ORCHESTRA_TOKEN: registration } });
      try {
        await waitFor('the bot to join', () => remote.stdout().includes('bot remote-a joined'));
        const seen = await waitFor('three tests done by the remote bot', async () => {
          const b = await bot('remote-a');
          return b && b.completed >= 3 ? b : undefined;
        });
        expect(seen.transport).toBe('http');
        expect(fs.readFileSync(path.join(cwd, 'ran'), 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(3);
      } finally {
        remote.child.kill('SIGTERM');
      }
      expect(await exitWithin(remote)).toBe(0);
      expect(remote.stderr()).toContain('SIGTERM: draining');
      expect(remote.stdout()).toMatch(/bot remote-a left the fleet: \d+ completed/);
      const left = (await bot('remote-a'))!;
      expect(left.state).toBe('offline');
      const tokens = JSON.parse((await runCli(['tokens', 'list', '--json', '--api', url], { cwd, env: { ORCHESTRA_TOKEN: admin } })).stdout) as { name: string; botId: string | null }[];
      expect(tokens).toContainEqual(expect.objectContaining({ name: 'bot remote-a', botId: 'remote-a' }));
      // Every evaluation the fleet accepted from this bot ran here (and perhaps one more, refused as late).
      expect(fs.readFileSync(path.join(cwd, 'ran'), 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(left.completed);

      const hanging = spawnCli(['bot', '--api', url, '--exec', 'test=./hang.sh', '--id', 'remote-hang', '--capacity', '1'], { cwd, env: { ORCHESTRA_TOKEN: admin } });
      const sleeper = await waitFor('an evaluation to start', () => {
        const text = fs.existsSync(path.join(cwd, 'hung')) ? fs.readFileSync(path.join(cwd, 'hung'), 'utf8').trim() : '';
        return text ? Number(text.split('\n')[0]) : undefined;
      });
      expect(alive(sleeper)).toBe(true);
      hanging.child.kill('SIGTERM');
      await waitFor('the drain notice', () => hanging.stderr().includes('draining'));
      hanging.child.kill('SIGTERM');
      expect(await exitWithin(hanging)).toBe(143);
      await waitFor('the evaluator’s child to be gone', () => !alive(sleeper));
    } finally {
      system.child.kill('SIGTERM');
    }
    expect(await exitWithin(system)).toBe(0);
  });

  it("runs start's study of the user's evaluator on remote bots alone (--bots 0)", async () => {
    fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify({ name: 'toy', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'float', min: -5, max: 5 } } }));
    // Were it run in the start process, the study would fail: only the remote bot's command succeeds.
    fs.writeFileSync(path.join(cwd, 'never.sh'), '#!/bin/sh\necho "ran in the start process" >&2\nexit 3\n', { mode: 0o755 });
    fs.rmSync(path.join(cwd, 'ran'), { force: true });
    const system = spawnCli(['start', '--space', 'space.json', '--command', './never.sh', '--bots', '0', '--generations', '1', '--port', '0', '--data', 'toy', '--json'], { cwd });
    const url = await waitFor('the API address', () => /API at (http:\/\/\S+) /.exec(system.stderr())?.[1]);
    const admin = await waitFor('the first admin token', () => /shown this once: (orc_\S+)/.exec(system.stderr())?.[1]);
    await waitFor('the study waiting for bots', () => system.stderr().includes('on 0 bots (waiting for bots to join'));
    const remote = spawnCli(['bot', '--api', url, '--exec', 'test=./evaluate.sh', '--id', 'remote-b'], { cwd, env: { ORCHESTRA_TOKEN: admin } });
    try {
      expect(await exitWithin(system)).toBe(0);
    } finally {
      remote.child.kill('SIGTERM');
    }
    const summary = JSON.parse(system.stdout()) as { studyId: string; tests: number; failedTests: number; bots: { total: number }; best: { value: number } };
    expect(summary).toMatchObject({ studyId: 'toy', failedTests: 0, bots: { total: 1 }, best: { value: 1.5 } });
    expect(summary.tests).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(cwd, 'ran'), 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(summary.tests);
    expect(await exitWithin(remote)).toBe(0);
  });
  it('runs optimize on remote bots, the budget never exceeded', async () => {
    fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify({ name: 'toy', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'float', min: -5, max: 5 } } }));
    const counted = path.join(cwd, 'optimized');
    fs.writeFileSync(path.join(cwd, 'count.sh'), `#!/bin/sh\ncat > /dev/null\necho "$ORCHESTRA_TRIAL" >> "${counted}"\necho "{\\"success\\": true, \\"value\\": $ORCHESTRA_TRIAL}"\n`, { mode: 0o755 });
    const refused = await runCli(['optimize', '--space', 'space.json', '--budget', '5', '--out', 'r.json', '--bots', 'remote', '--command', './count.sh'], { cwd });
    expect(refused.stderr).toContain("with --bots remote the evaluator is each bot's --exec");
    const run = spawnCli(['optimize', '--space', 'space.json', '--budget', '12', '--out', 'result.json', '--bots', 'remote', '--port', '0', '--json'], { cwd });
    const join = await waitFor('the invitation', () => /ORCHESTRA_TOKEN=(orc_\S+) orchestra bot --api (http:\/\/\S+)/.exec(run.stderr()));
    const bots = ['r1', 'r2'].map((id) => spawnCli(['bot', '--api', join[2]!, '--exec', 'test=./count.sh', '--id', id], { cwd, env: { ORCHESTRA_TOKEN: join[1] } }));
    try {
      expect(await exitWithin(run)).toBe(0);
    } finally {
      for (const b of bots) b.child.kill('SIGTERM');
    }
    const result = JSON.parse(fs.readFileSync(path.join(cwd, 'result.json'), 'utf8')) as { evaluations: number; best: { value: number } };
    expect(result.evaluations).toBe(12);
    expect(fs.readFileSync(counted, 'utf8').trim().split('\n')).toHaveLength(12);
    for (const b of bots) expect(await exitWithin(b)).toBe(0);
  });
});
