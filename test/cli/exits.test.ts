import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DATABASE_URL, REDIS_URL, uniqueName } from '../support/env.js';
import { dropSchema, deleteKeys, exitWithin, runCli, spawnCli, tempDir, waitFor } from './support.js';

interface Counts {
  generations: number;
  tests: number;
  failedTests: number;
}

interface Summary extends Counts {
  outcome: string;
  run: Counts;
  best: { metrics: Record<string, number> } | null;
}

const SPACE = { name: 'line', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'float', min: 0, max: 1 } } };

describe('exits that tell the truth', { timeout: 240_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir('orchestra-exits-');
    fs.mkdirSync(path.join(cwd, 'docs'));
    fs.mkdirSync(path.join(cwd, 'empty'));
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(cwd, 'docs', `f${i}.txt`), `line ${i} of a document that repeats itself\n`.repeat(400));
    // Small generations keep each run to a few seconds; a sample of 12,345 bytes is an integer no precision rounds well.
    fs.writeFileSync(path.join(cwd, 'small.json'), JSON.stringify({ experiment: { population: 4, testsPerCombination: 1 }, compression: { maxBytes: 12_345 } }));
    fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify(SPACE));
    fs.writeFileSync(path.join(cwd, 'count.sh'), '#!/bin/sh\necho x >> "$CALLS"\nexit 3\n', { mode: 0o755 });
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('refuses a folder to compress that is missing or empty before the study starts, exit 2', async () => {
    const [missing, empty] = await Promise.all([
      runCli(['start', '--data', 'never', '--folder', '/nope/not/here', '--generations', '1'], { cwd }),
      runCli(['start', '--data', 'never', '--folder', 'empty', '--generations', '1'], { cwd }),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('orchestra: configuration compression.folder from flag --folder: cannot read the folder to compress /nope/not/here: ENOENT [ORC_CONFIG_INVALID]\n');
    expect(missing.stdout).toBe('');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^orchestra: configuration compression\.folder from flag --folder: the folder to compress .*empty holds no file .*\[ORC_CONFIG_INVALID\]\n$/);
    expect(fs.existsSync(path.join(cwd, 'never'))).toBe(false);
  });

  it('runs --generations more generations on a resumed study, telling this run from the study; prints integers whole', async () => {
    const args = ['start', '--data', 'more', '--config', 'small.json', '--folder', 'docs'];
    const first = await runCli([...args, '--generations', '2', '--json'], { cwd });
    expect(first.code).toBe(0);
    const one = JSON.parse(first.stdout) as Summary;
    expect(one).toMatchObject({ outcome: 'finished', generations: 2, tests: 8, run: { generations: 2, tests: 8 } });
    expect(one.best!.metrics.inputBytes).toBe(12_345);

    const second = await runCli([...args, '--generations', '3'], { cwd });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('; 3 generations after the 2 done\n');
    expect(second.stdout).toMatch(/^finished: 3 generations, 12 tests \(0 failed\) in [\d.]+s\nstudy compression: 5 generations, 20 tests \(0 failed\) in all\n/);
    expect(second.stdout).toContain(' · inputBytes 12345');
    const best = await runCli(['best', '--data', 'more'], { cwd });
    expect(best.stdout).toContain('  inputBytes: 12345\n');
  });

  it('names the study that does not exist and the ones that do, exit 1, for every command that reads one', async () => {
    await runCli(['start', '--data', 'named', '--config', 'small.json', '--folder', 'docs', '--generations', '1'], { cwd });
    // One at a time: the embedded data folder belongs to one process.
    for (const command of ['best', 'generations', 'bots', 'campaigns']) {
      const run = await runCli([command, '--data', 'named', '--study', 'nope'], { cwd });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe('orchestra: no study "nope" in this store; it holds: compression [ORC_CLI_STUDY_NOT_FOUND]\n');
    }
    const known = await runCli(['bots', '--data', 'named', '--study', 'compression', '--json'], { cwd });
    expect(known.code).toBe(0);
    expect((JSON.parse(known.stdout) as { bots: unknown[] }).bots.length).toBeGreaterThan(0);
  });

  it('stops an optimization early when the evaluator cannot be found, exit 1 with the reason', async () => {
    const run = await runCli(['optimize', '--space', 'space.json', '--command', 'no-such-evaluator-anywhere', '--budget', '40', '--out', 'nope.json'], { cwd });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/orchestra: stopped early: the first 3 evaluations all failed because the command was not found \(exit 127\).*no-such-evaluator-anywhere: not found.*\[ORC_CLI_EVALUATOR_UNUSABLE\]\n$/);
    const result = JSON.parse(fs.readFileSync(path.join(cwd, 'nope.json'), 'utf8')) as { evaluations: number };
    expect(result.evaluations).toBeLessThan(10);
  });

  it('refuses an --out it could not write before evaluating anything, exit 2', async () => {
    const calls = path.join(cwd, 'unwritable.calls');
    const run = await runCli(['optimize', '--space', 'space.json', '--command', './count.sh', '--budget', '8', '--out', 'no-such-folder/r.json'], { cwd, env: { CALLS: calls } });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`orchestra: --out no-such-folder/r.json: the folder ${path.join(cwd, 'no-such-folder')} does not exist [ORC_CLI_BAD_ARGUMENT]\n`);
    expect(fs.existsSync(calls)).toBe(false);
  });

  it('puts the result on standard output when --out went away during the run, exit 1 saying so', async () => {
    fs.mkdirSync(path.join(cwd, 'gone'));
    fs.writeFileSync(path.join(cwd, 'remove.sh'), '#!/bin/sh\nrm -rf gone\necho \'{"success":true,"value":1}\'\n', { mode: 0o755 });
    const run = await runCli(['optimize', '--space', 'space.json', '--command', './remove.sh', '--budget', '4', '--out', 'gone/r.json'], { cwd });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/orchestra: could not write --out gone\/r\.json \(ENOENT[^\n]*\); the result went to standard output instead \[ORC_CLI_OUTPUT_UNWRITTEN\]\n$/);
    expect(JSON.parse(run.stdout)).toMatchObject({ evaluations: 4 });
  });

  it('ends a command quietly, exit 0, when the reader of its output goes away (`orchestra … | head`)', async () => {
    const cli = spawnCli(['optimize', '--help'], { cwd });
    // Closed before the command writes a line.
    cli.child.stdout!.destroy();
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).not.toMatch(/EPIPE|Error|\n\s+at /);
  });

  it('stops a worker gracefully, as the first signal does, when the reader of its output goes away', async () => {
    const cli = spawnCli(['worker', '--data', 'piped', '--exec', 'echo=cat'], { cwd });
    cli.child.stdout!.destroy();
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(cli.stderr()).toContain('stopping');
  });

  it('exits 1 when no evaluation succeeded, with the most common reasons and their counts', async () => {
    const calls = path.join(cwd, 'failing.calls');
    const run = await runCli(['optimize', '--space', 'space.json', '--command', './count.sh', '--budget', '8', '--out', 'failing.json'], { cwd, env: { CALLS: calls } });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^8 evaluations in [\d.]+s \(8 failed\)/);
    expect(run.stderr).toMatch(/orchestra: no evaluation succeeded \(8 of 8 failed\): 8× exited with code 3 \[ORC_CLI_NO_SUCCESS\]\n$/);
  });

  it('on the embedded default, says which process holds the study when asked to stop or trigger it', async () => {
    const running = spawnCli(['start', '--data', 'held', '--config', 'small.json', '--folder', 'docs'], { cwd });
    try {
      await waitFor('the study to run', () => /generation \d+ · tests \d+\/\d+/.test(running.stderr()));
      const [stop, trigger] = [await runCli(['stop', '--data', 'held'], { cwd }), await runCli(['trigger', '--data', 'held'], { cwd })];
      for (const [run, action] of [[stop, 'stop_test'], [trigger, 'trigger_test']] as const) {
        expect(run.code).toBe(1);
        expect(run.stderr).toContain(`orchestra: ${action} cannot reach the study: process ${running.child.pid} (a running orchestra start) holds the embedded data folder`);
        expect(run.stderr).toMatch(/\[ORC_STORE_DATA_DIR_LOCKED\]\n$/);
      }
    } finally {
      running.child.kill('SIGINT');
    }
    expect(await exitWithin(running)).toBe(0);
  });

  it('on Redis, stop sends stop_test to the running study, start resumes it, and trigger reaches it', async () => {
    const schema = uniqueName('cli_exits');
    const prefix = uniqueName('cli_exits');
    const env = { DATABASE_URL, REDIS_URL, ORCHESTRA_SCHEMA: schema, ORCHESTRA_PREFIX: prefix };
    const args = ['start', '--config', 'small.json', '--folder', 'docs'];
    try {
      const first = spawnCli(args, { cwd, env });
      try {
        await waitFor('the study to run', () => /generation \d+ · tests \d+\/\d+/.test(first.stderr()));
        const stop = await runCli(['stop'], { cwd, env });
        expect(stop.stderr).toBe('');
        expect(stop.stdout).toBe('study compression: stop_test sent to the running system; run orchestra start again to resume the study\n');
        expect(stop.code).toBe(0);
        expect(await exitWithin(first)).toBe(0);
      } finally {
        first.child.kill('SIGKILL');
      }
      expect(first.stdout()).toMatch(/^stopped: /);
      expect(first.stderr()).toContain('study compression was stopped (stop_test); run start again to resume it');

      const again = spawnCli(args, { cwd, env });
      try {
        await waitFor('the stopped study to go on', () => /generation \d+ · tests \d+\/\d+/.test(again.stderr()));
        expect(again.stderr()).toContain('orchestra: study compression was stopped (stop_test); resuming it\n');
        const trigger = await runCli(['trigger', '--study', 'compression', '--json'], { cwd, env });
        expect(trigger.code).toBe(0);
        expect(JSON.parse(trigger.stdout)).toMatchObject({ action: 'trigger_test', via: 'bus', studyId: 'compression', state: 'running' });
        const wrong = await runCli(['trigger', '--study', 'nope'], { cwd, env });
        expect(wrong.code).toBe(1);
        expect(wrong.stderr).toContain('[ORC_CLI_STUDY_NOT_FOUND]');
        expect((await runCli(['stop'], { cwd, env })).code).toBe(0);
        expect(await exitWithin(again)).toBe(0);
      } finally {
        again.child.kill('SIGKILL');
      }

      const nobody = await runCli(['trigger', '--timeout-ms', '500'], { cwd, env });
      expect(nobody.code).toBe(1);
      expect(nobody.stderr).toMatch(/^orchestra: no running system answered for study compression within 500 ms .*\[ORC_CLI_NO_RUNNING_SYSTEM\]\n$/);
    } finally {
      await dropSchema(schema);
      await deleteKeys(prefix);
    }
  });
});
