import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { runCli, spawnCli, tempDir, waitFor, exitWithin } from './support.js';

interface Result {
  best: { variables: Record<string, unknown>; value: number; successProbability: { p: number; low: number; high: number }; observedSuccessRate: number; tests: number } | null;
  evaluations: number;
  history: {
    trial: number;
    variables: Record<string, unknown>;
    success: boolean;
    value: number | null;
    metrics: Record<string, number>;
    reason?: string;
    startedAt: string | null;
    durationMs: number | null;
    bot: string | null;
    attempt: number | null;
  }[];
  drift: { generation: number; at: string; sinceTrial: number | null; baseline: number | null; recent: number | null; drop: number | null }[];
}

const SPACE = {
  name: 'bowl',
  objective: { metric: 'value', direction: 'minimize' },
  variables: {
    x: { type: 'float', min: -5, max: 5 },
    n: { type: 'int', min: 1, max: 1024, log: true },
    mode: { type: 'categorical', choices: ['slow', 'fast'] },
  },
};

/**
 * An evaluator in plain Node: a bowl with its minimum at x = 1, n = 64, mode
 * fast. Its behaviour for a trial comes from the MODE environment variable:
 * `flaky` fails every third trial, hangs every fifth and prints garbage every
 * seventh; every call appends a line to CALLS so the test counts invocations.
 * With HANG_FROM, trials from that number on hang, each appending its process
 * group (the pid of the \`sh -c\` that runs it) to HUNG. With SHIFT_AT, the
 * minimum moves to x = -4 from that trial on (an environment change).
 */
const EVALUATOR = `
const fs = require('node:fs');
let s = '';
process.stdin.on('data', (d) => (s += d)).on('end', () => {
  const { variables: v, trial } = JSON.parse(s);
  fs.appendFileSync(process.env.CALLS, trial + '\\n');
  if (process.env.HANG_FROM && trial >= Number(process.env.HANG_FROM)) {
    fs.appendFileSync(process.env.HUNG, process.ppid + '\\n');
    return setTimeout(() => {}, 600000);
  }
  if (process.env.MODE === 'flaky') {
    if (trial % 5 === 4) return setTimeout(() => {}, 60000);
    if (trial % 7 === 6) return console.log('this is not json');
    if (trial % 3 === 2) { console.error('sensor offline'); process.exit(3); }
  }
  // With SHIFT_AT, the environment changes at that trial: the bowl's minimum moves to x = -4.
  const centre = process.env.SHIFT_AT && trial >= Number(process.env.SHIFT_AT) ? -4 : 1;
  const value = (v.x - centre) ** 2 + Math.log2(v.n / 64) ** 2 + (v.mode === 'fast' ? 0 : 2);
  console.log(JSON.stringify({ success: true, value, latencyMs: 3 }));
});
`;

/** The processes of group `pgid` still running (zombies, already dead, left out), as `ps` lists them. */
function groupMembers(pgid: number): string[] {
  const lines = execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], { encoding: 'utf8' }).split('\n');
  return lines.filter((line) => {
    const [, group, stat] = line.trim().split(/\s+/);
    return Number(group) === pgid && !stat?.startsWith('Z');
  });
}

/** SIGKILLs the groups that still have members: a gone group's number may be another process's group by now. */
function killLiveGroups(groups: readonly number[]): void {
  for (const g of groups.filter((x) => groupMembers(x).length > 0)) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

describe('orchestra optimize', { timeout: 240_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir('orchestra-optimize-');
    fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify(SPACE));
    fs.writeFileSync(path.join(cwd, 'evaluate.js'), EVALUATOR);
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  const calls = (file: string) => (fs.existsSync(path.join(cwd, file)) ? fs.readFileSync(path.join(cwd, file), 'utf8').trim().split('\n').filter(Boolean).length : 0);
  const read = (file: string) => JSON.parse(fs.readFileSync(path.join(cwd, file), 'utf8')) as Result;

  it('reads the experiment settings from the configuration file like every command, flags first', async () => {
    fs.writeFileSync(path.join(cwd, 'six.json'), JSON.stringify({ experiment: { population: 6, seed: 9 } }));
    const data = path.join(cwd, 'configured');
    const run = await runCli(
      ['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '16', '--out', 'configured.json', '--data', data, '--config', 'six.json'],
      { cwd, env: { CALLS: path.join(cwd, 'configured.calls') } },
    );
    expect(run.code).toBe(0);
    const listed = await runCli(['generations', '--json', '--data', data], { cwd });
    const { generations } = JSON.parse(listed.stdout) as { generations: { generation: number; tests: number }[] };
    // Without the file, a budget of 16 gives generations of 4 combinations, one evaluation each.
    expect(generations[0]).toMatchObject({ generation: 0, tests: 6 });
    const flagged = await runCli(
      ['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '16', '--out', 'flagged.json', '--data', path.join(cwd, 'flagged'), '--config', 'six.json', '--population', '5'],
      { cwd, env: { CALLS: path.join(cwd, 'flagged.calls') } },
    );
    expect(flagged.code).toBe(0);
    const first = JSON.parse((await runCli(['generations', '--json', '--data', path.join(cwd, 'flagged')], { cwd })).stdout) as { generations: { tests: number }[] };
    expect(first.generations[0]!.tests).toBe(5);
  });

  it('finds the bowl within its budget and writes the result file', async () => {
    const run = await runCli(['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '48', '--seed', '5', '--out', 'bowl.json'], {
      cwd,
      env: { CALLS: path.join(cwd, 'bowl.calls') },
    });
    expect(run.stderr).not.toMatch(/orchestra: .*\[ORC_/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^48 evaluations in [\d.]+s \(0 failed\); result in bowl.json\nbest: /);
    expect(run.stderr).toMatch(/generation \d+ · \d+\/48 evaluations · best/);
    const result = read('bowl.json');
    expect(result.evaluations).toBe(48);
    expect(result.history).toHaveLength(48);
    expect(calls('bowl.calls')).toBe(48);
    for (const h of result.history) {
      expect(Object.keys(h.variables).sort()).toEqual(['mode', 'n', 'x']);
      expect(Number.isInteger(h.variables.n)).toBe(true);
    }
    const first = Math.min(...result.history.slice(0, 8).map((h) => h.value!));
    expect(result.best!.value).toBeLessThan(first);
    expect(result.best!.variables.mode).toBe('fast');
    // Each evaluation as the store recorded it: its number, every metric printed, when and how long, which bot and attempt.
    expect(result.history.map((h) => h.trial)).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    for (const h of result.history) {
      expect(h.metrics).toEqual({ latencyMs: 3 });
      expect(h.durationMs).toBeGreaterThanOrEqual(0);
      expect(new Date(h.startedAt!).toISOString()).toBe(h.startedAt);
      expect(h.bot).toMatch(/^local-[1-4]$/);
      expect(h.attempt).toBe(1);
    }
    expect(Date.parse(result.history[47]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(result.history[0]!.startedAt!));
    expect(result.best).toMatchObject({ observedSuccessRate: 1, tests: expect.any(Number) });
    const { p, low, high } = result.best!.successProbability;
    expect(low).toBeLessThanOrEqual(p);
    expect(p).toBeLessThanOrEqual(high);
    expect(p).toBeGreaterThan(0.5);
    expect(run.stdout).toMatch(/best: .*, estimated \d+ % \(\d+–\d+ %\)/);
    expect(result.best!.tests).toBeGreaterThanOrEqual(1);
    expect(result.drift).toEqual([]);
    // Nothing of the run stays behind: its store was a temporary folder.
    expect(fs.readdirSync(cwd).filter((f) => f.startsWith('.orchestra'))).toEqual([]);
  });

  it('finishes within its budget when the evaluator fails, hangs or prints garbage, keeping each reason', async () => {
    const run = await runCli(
      ['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '30', '--parallel', '6', '--timeout-ms', '1500', '--out', 'flaky.json'],
      { cwd, env: { MODE: 'flaky', CALLS: path.join(cwd, 'flaky.calls') } },
    );
    expect(run.code).toBe(0);
    const result = read('flaky.json');
    expect(result.evaluations).toBeLessThanOrEqual(30);
    const reasons = result.history.filter((h) => !h.success).map((h) => h.reason!);
    // Every evaluation started the command once; one timed out may have been ended before the
    // command wrote its call down (node starting slowly on a loaded machine).
    const timedOut = reasons.filter((r) => /timed out/.test(r)).length;
    expect(calls('flaky.calls')).toBeLessThanOrEqual(result.evaluations);
    expect(calls('flaky.calls')).toBeGreaterThanOrEqual(result.evaluations - timedOut);
    expect(reasons.some((r) => /exited with code 3.*sensor offline/.test(r))).toBe(true);
    expect(reasons.some((r) => /timed out after 1500 ms/.test(r))).toBe(true);
    expect(reasons.some((r) => /not JSON/i.test(r))).toBe(true);
    for (const h of result.history.filter((x) => !x.success)) expect(h.value).toBeNull();
    expect(result.best).not.toBeNull();
  });

  it('writes the result into a FIFO it is given, leaving the FIFO in place', async () => {
    const fifo = path.join(cwd, 'result.fifo');
    execFileSync('mkfifo', [fifo]);
    const got = path.join(cwd, 'fifo.json');
    const reader = spawn('sh', ['-c', `cat "${fifo}" > "${got}"`], { stdio: 'ignore' });
    const readerDone = new Promise((resolve) => reader.once('exit', resolve));
    try {
      const run = await runCli(['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '8', '--population', '4', '--out', fifo], {
        cwd,
        env: { CALLS: path.join(cwd, 'fifo.calls') },
      });
      expect(run.code).toBe(0);
      expect(fs.statSync(fifo).isFIFO()).toBe(true);
      await readerDone;
      expect(JSON.parse(fs.readFileSync(got, 'utf8')).evaluations).toBe(8);
      expect(fs.readdirSync(cwd).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      reader.kill('SIGKILL');
    }
  });

  it('writes the result to standard output for --out -, and the summary to standard error', async () => {
    const run = await runCli(['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '8', '--population', '4', '--out', '-'], {
      cwd,
      env: { CALLS: path.join(cwd, 'dash.calls') },
    });
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as Result).evaluations).toBe(8);
    expect(run.stderr).toMatch(/8 evaluations in [\d.]+s \(0 failed\); result in -/);
    expect(fs.existsSync(path.join(cwd, '-'))).toBe(false);
  });

  it('logs one line per evaluation at --log-level info, with its trial, variables, outcome and duration', async () => {
    const run = await runCli(['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '8', '--population', '4', '--out', 'logged.json', '--log-level', 'info'], {
      cwd,
      env: { CALLS: path.join(cwd, 'logged.calls') },
    });
    expect(run.code).toBe(0);
    const lines = run.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'evaluation recorded');
    expect(lines.map((l) => l.trial).sort((a, b) => Number(a) - Number(b))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const history = read('logged.json').history;
    for (const line of lines) {
      const h = history.find((x) => x.trial === line.trial)!;
      expect(line).toMatchObject({ level: 30, variables: h.variables, success: h.success, value: h.value, durationMs: h.durationMs, bot: h.bot, attempt: 1 });
    }
    // Without it (the default level is warn), no such line.
    const quiet = await runCli(['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '4', '--population', '4', '--out', 'quiet.json'], {
      cwd,
      env: { CALLS: path.join(cwd, 'quiet.calls') },
    });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('evaluation recorded');
  });

  it('raises a drift alert when the environment changes, and none with --drift off', async () => {
    const args = (out: string, drift: string[]) => ['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '72', '--population', '8', '--seed', '2', '--out', out, ...drift];
    const [on, off] = await Promise.all([
      runCli(args('drift-on.json', []), { cwd, env: { CALLS: path.join(cwd, 'drift-on.calls'), SHIFT_AT: '32' } }),
      runCli(args('drift-off.json', ['--drift', 'off']), { cwd, env: { CALLS: path.join(cwd, 'drift-off.calls'), SHIFT_AT: '32' } }),
    ]);
    expect(on.code).toBe(0);
    expect(off.code).toBe(0);
    const detected = read('drift-on.json').drift;
    expect(detected.length).toBeGreaterThanOrEqual(1);
    expect(detected[0]).toMatchObject({ generation: expect.any(Number), at: expect.any(String), baseline: expect.any(Number), recent: expect.any(Number), drop: expect.any(Number) });
    expect(detected[0]!.sinceTrial).toBeGreaterThan(32);
    expect(on.stdout).toMatch(/environment changes: \d+/);
    expect(read('drift-off.json').drift).toEqual([]);
    expect(read('drift-off.json').evaluations).toBe(72);
  });

  it('refuses --drift other than on or off, naming the flag', async () => {
    for (const command of [
      ['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '4', '--out', 'never.json', '--drift', 'maybe'],
      ['start', '--generations', '1', '--drift', 'yes'],
    ]) {
      const run = await runCli(command, { cwd, env: { CALLS: path.join(cwd, 'refused.calls') } });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--drift must be on or off, not "(maybe|yes)" \[ORC_CLI_BAD_ARGUMENT\]/);
    }
    expect(calls('refused.calls')).toBe(0);
    expect(fs.existsSync(path.join(cwd, 'never.json'))).toBe(false);
  });

  it('evaluates the combinations given with --enqueue first, within the budget', async () => {
    const known = [
      { x: -2, n: 8, mode: 'slow' },
      { mode: 'fast', n: 64, x: 1 },
      { x: 0.5, n: 100, mode: 'fast' },
    ];
    fs.writeFileSync(path.join(cwd, 'known.json'), JSON.stringify(known));
    const run = await runCli(['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '12', '--population', '4', '--enqueue', 'known.json', '--out', 'enqueued.json'], {
      cwd,
      env: { CALLS: path.join(cwd, 'enqueued.calls') },
    });
    expect(run.code).toBe(0);
    const result = read('enqueued.json');
    expect(result.evaluations).toBe(12);
    expect(calls('enqueued.calls')).toBe(12);
    expect(result.history.slice(0, 3).map((h) => h.variables)).toEqual(known);
    expect(result.best).toMatchObject({ variables: { x: 1, n: 64, mode: 'fast' }, value: 0 });
  });

  it('refuses an --enqueue file that does not fit the space before running anything, naming the entry and the variable', async () => {
    const cases: [unknown, RegExp][] = [
      [[{ x: 0, n: 2, mode: 'fast' }, { x: 0, n: 2, mode: 'fast', speed: 3 }], /--enqueue bad-known\.json: entry 2: unknown variable speed/],
      [[{ x: 7, n: 2, mode: 'fast' }], /--enqueue bad-known\.json: entry 1: variable x: 7 is outside the space: expected -5 ≤ value ≤ 5/],
      [[{ x: 0, n: 2, mode: 'medium' }], /entry 1: variable mode: "medium" is outside the space: expected one of \["slow","fast"\]/],
      [[{ x: 0, mode: 'fast' }], /entry 1: variable n is missing/],
      [{ x: 0 }, /--enqueue bad-known\.json: expected a JSON array of combinations/],
    ];
    for (const [content, message] of cases) {
      fs.writeFileSync(path.join(cwd, 'bad-known.json'), JSON.stringify(content));
      const run = await runCli(['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '4', '--enqueue', 'bad-known.json', '--out', 'never.json'], {
        cwd,
        env: { CALLS: path.join(cwd, 'bad-known.calls') },
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain('[ORC_CLI_BAD_ARGUMENT]');
    }
    expect(calls('bad-known.calls')).toBe(0);
    expect(fs.existsSync(path.join(cwd, 'never.json'))).toBe(false);
  });

  it('kills its running evaluators when a second signal makes it exit', async () => {
    const pgids = path.join(cwd, 'hang.pgids');
    // sh -c leads each evaluation's process group, so its pid is the group's id.
    const run = spawnCli(['optimize', '--space', 'space.json', '--command', `echo $$ >> ${pgids}; sleep 1000 & sleep 1000`, '--budget', '8', '--parallel', '2', '--out', 'hang.json'], { cwd });
    let groups: number[] = [];
    try {
      groups = await waitFor('two evaluations to start', () => {
        const ids = fs.existsSync(pgids) ? fs.readFileSync(pgids, 'utf8').trim().split('\n').filter(Boolean).map(Number) : [];
        return ids.length >= 2 && ids;
      });
      run.child.kill('SIGINT');
      await waitFor('the first signal to be taken', () => run.stderr().includes('a second signal exits at once'));
      run.child.kill('SIGINT');
      expect(await exitWithin(run)).toBe(130);
      await waitFor('no evaluator to be left', () => groups.every((g) => groupMembers(g).length === 0));
    } finally {
      run.child.kill('SIGKILL');
      killLiveGroups(groups);
    }
  });

  it('serves the dashboard and the API with --ui while the study runs', async () => {
    const hung = path.join(cwd, 'ui.hung');
    const groups = () => (fs.existsSync(hung) ? fs.readFileSync(hung, 'utf8').trim().split('\n').filter(Boolean).map(Number) : []);
    const run = spawnCli(['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '16', '--parallel', '2', '--ui', '--port', '0', '--out', 'ui.json'], {
      cwd,
      env: { CALLS: path.join(cwd, 'ui.calls'), HANG_FROM: '4', HUNG: hung },
    });
    try {
      const url = await waitFor('the dashboard line', () => /dashboard at (http:\/\/\S+)\//.exec(run.stderr())?.[1]);
      const token = /shown this once: (\S+)/.exec(run.stderr())![1]!;
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      // The evaluations so far show through the API the dashboard reads.
      const evaluations = await waitFor('four evaluations through the API', async () => {
        const res = await fetch(`${url}/api/studies/optimize/evaluations`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { evaluations?: unknown[] };
        return res.status === 200 && (body.evaluations?.length ?? 0) >= 4 && body.evaluations;
      });
      expect(evaluations.length).toBeGreaterThanOrEqual(4);
      run.child.kill('SIGINT');
      await exitWithin(run);
    } finally {
      run.child.kill('SIGKILL');
      killLiveGroups(groups());
    }
  });

  it('refuses a bad space before running anything, naming the field', async () => {
    fs.writeFileSync(path.join(cwd, 'bad.json'), JSON.stringify({ ...SPACE, variables: { n: { type: 'int', min: 0, max: 10, log: true } } }));
    const run = await runCli(['optimize', '--space', 'bad.json', '--command', 'node evaluate.js', '--budget', '10', '--out', 'never.json'], {
      cwd,
      env: { CALLS: path.join(cwd, 'bad.calls') },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/variables\.n\.min/);
    expect(fs.existsSync(path.join(cwd, 'never.json'))).toBe(false);
    expect(calls('bad.calls')).toBe(0);
  });

  it('refuses a space that declares a variable twice, naming it', async () => {
    const variables = JSON.stringify(SPACE.variables).slice(1, -1);
    fs.writeFileSync(path.join(cwd, 'twice.json'), `{"name": "twice", "objective": ${JSON.stringify(SPACE.objective)}, "variables": {${variables}, "x": {"type": "bool"}}}`);
    const run = await runCli(['optimize', '--space', 'twice.json', '--command', 'node evaluate.js', '--budget', '10', '--out', 'never.json'], {
      cwd,
      env: { CALLS: path.join(cwd, 'twice.calls') },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid space twice.json: variables.x: declared twice [ORC_PROTOCOL_INVALID_VALUE]');
    expect(calls('twice.calls')).toBe(0);
  });

  it('optimizes a space of 1,000 float variables', async () => {
    const variables = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x${String(i).padStart(4, '0')}`, { type: 'float', min: 0, max: 1 }]));
    fs.writeFileSync(path.join(cwd, 'wide.json'), JSON.stringify({ name: 'wide', objective: { metric: 'value', direction: 'minimize' }, variables }));
    const run = await runCli(
      ['optimize', '--space', 'wide.json', '--command', 'cat >/dev/null; echo \'{"success": true, "value": 1}\'', '--budget', '8', '--seed', '3', '--out', 'wide-result.json'],
      { cwd },
    );
    expect(run.stderr).not.toMatch(/ORC_|error/i);
    expect(run.code).toBe(0);
    const result = read('wide-result.json');
    expect(result.evaluations).toBe(8);
    expect(result.history.every((h) => h.success && Object.keys(h.variables).length === 1000)).toBe(true);
    expect(Object.keys(result.best!.variables)).toHaveLength(1000);
  });

  it('gives the tests a killed run held back at once when resumed, not when their leases run out', async () => {
    // Leases longer than the test: a resumed run that waited them out would never finish.
    fs.writeFileSync(path.join(cwd, 'long-lease.json'), JSON.stringify({ registry: { leaseMs: 600_000 } }));
    const args = ['optimize', '--config', 'long-lease.json', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '16', '--parallel', '2', '--out', 'reclaimed.json', '--data', 'reclaim'];
    const hung = path.join(cwd, 'reclaim.hung');
    const groups = () => (fs.existsSync(hung) ? fs.readFileSync(hung, 'utf8').trim().split('\n').filter(Boolean).map(Number) : []);
    const first = spawnCli(args, { cwd, env: { CALLS: path.join(cwd, 'reclaim.calls'), HANG_FROM: '6', HUNG: hung } });
    try {
      await waitFor('both bots to hold a hanging evaluation', () => groups().length === 2);
      first.child.kill('SIGKILL');
      await exitWithin(first);
    } finally {
      first.child.kill('SIGKILL');
      // Killed with SIGKILL, the run could not end its evaluators.
      killLiveGroups(groups());
    }
    const resumed = await runCli([...args, '--resume'], { cwd, env: { CALLS: path.join(cwd, 'reclaim.calls') } });
    expect(resumed.code).toBe(0);
    const result = read('reclaimed.json');
    expect(result.evaluations).toBe(16);
    const lost = result.history.filter((h) => !h.success);
    expect(lost).toHaveLength(2);
    for (const h of lost) expect(h.reason).toMatch(/ORC_REGISTRY_TIMEOUT|lease/);
  });

  it('continues an interrupted study with --resume, counting no evaluation twice', async () => {
    // Short leases, so the tasks the killed process held come back within seconds.
    fs.writeFileSync(path.join(cwd, 'fast.json'), JSON.stringify({ registry: { leaseMs: 2_000 }, monitor: { intervalMs: 500 } }));
    const args = ['optimize', '--config', 'fast.json', '--space', 'space.json', '--command', 'node evaluate.js', '--budget', '40', '--parallel', '2', '--out', 'resumed.json', '--data', 'study'];
    const env = { CALLS: path.join(cwd, 'resumed.calls') };
    const first = spawnCli(args, { cwd, env });
    await waitFor('some evaluations', async () => calls('resumed.calls') >= 12);
    first.child.kill('SIGKILL');
    await exitWithin(first);
    const again = await runCli(args, { cwd, env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('add --resume to continue it');
    const resumed = await runCli([...args, '--resume'], { cwd, env });
    expect(resumed.code).toBe(0);
    const result = read('resumed.json');
    expect(result.evaluations).toBe(40);
    // At most the evaluations the killed process had running are lost to it (failed, never rerun): none is run twice.
    expect(calls('resumed.calls')).toBeLessThanOrEqual(40);
    expect(result.history.filter((h) => !h.success).every((h) => /ORC_REGISTRY_TIMEOUT|lease/.test(h.reason!))).toBe(true);
  });

  it('continues a finished study with more budget (--resume --budget), evaluating only the new budget', async () => {
    const args = ['optimize', '--space', 'space.json', '--command', 'node evaluate.js', '--parallel', '2', '--data', 'more', '--seed', '3'];
    const env = { CALLS: path.join(cwd, 'more.calls') };
    const first = await runCli([...args, '--budget', '12', '--out', 'more12.json'], { cwd, env });
    expect(first.code).toBe(0);
    expect(read('more12.json').evaluations).toBe(12);
    const more = await runCli([...args, '--budget', '24', '--resume', '--out', 'more24.json'], { cwd, env });
    expect(more.code).toBe(0);
    const result = read('more24.json');
    expect(result.evaluations).toBe(24);
    expect(result.history.map((h) => h.trial)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    // The first twelve are the first run's, kept; only twelve more ran.
    expect(result.history.slice(0, 12)).toEqual(read('more12.json').history);
    expect(calls('more.calls')).toBe(24);
  });
});
