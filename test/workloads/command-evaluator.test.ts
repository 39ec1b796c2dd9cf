import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterAll } from 'vitest';
import { systemClock } from '../../src/protocol/index.js';
import { commandEvaluator } from '../../src/workloads/index.js';
import { until } from '../agents/helpers.js';
import { alive, readPid } from './support.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-eval-'));
let files = 0;
const tempFile = (name: string) => path.join(dir, `${++files}-${name}`);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const input = { variables: { level: 6, algorithm: 'gzip', fast: true, rate: 0.5 }, trial: 7 };
const open = () => new AbortController().signal;
const evaluate = (command: string, options: Partial<Parameters<typeof commandEvaluator>[1]> = {}) =>
  commandEvaluator(command, { clock: systemClock, ...options })(input, open());

describe('commandEvaluator', () => {
  it('returns the evaluation the command prints, with its metrics and duration', async () => {
    const evaluation = await evaluate(`cat >/dev/null; echo '{"success": true, "value": 0.5, "latencyMs": 12, "note": "x"}'`);
    expect(evaluation).toMatchObject({ success: true, value: 0.5, metrics: { latencyMs: 12 }, reason: null });
    expect(evaluation.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('gives the command one JSON object with the variables and the trial on stdin', async () => {
    const received = tempFile('stdin.json');
    const evaluation = await evaluate(`cat > ${received}; echo "{\\"success\\": true, \\"value\\": $ORCHESTRA_TRIAL}"`);
    expect(JSON.parse(fs.readFileSync(received, 'utf8'))).toEqual(input);
    expect(evaluation.value).toBe(7);
  });

  it('runs in the folder and environment it was given', async () => {
    const evaluation = await evaluate(`[ "$(pwd)" = "${fs.realpathSync(dir)}" ] && echo "{\\"success\\": true, \\"value\\": $SCALE}"`, {
      cwd: dir,
      env: { SCALE: '3' },
    });
    expect(evaluation).toMatchObject({ success: true, value: 3 });
  });

  it('keeps the reason of a failure the command reports', async () => {
    const evaluation = await evaluate(`echo '{"success": false, "reason": "diverged"}'`);
    expect(evaluation).toMatchObject({ success: false, value: null, reason: 'diverged' });
  });

  it('fails on a non-zero exit, with the exit code and the end of stderr', async () => {
    const evaluation = await evaluate(`echo "loading" >&2; echo "disk full" >&2; exit 3`);
    expect(evaluation).toMatchObject({ success: false, value: null, reason: 'exited with code 3; stderr: loading\ndisk full' });
  });

  it("throws instead, retryable, when a run that gave no evaluation is the run's failure (a fleet bot's), and still returns what the command reports", async () => {
    await expect(evaluate(`echo "disk full" >&2; exit 3`, { crashes: 'error' })).rejects.toMatchObject({
      code: 'ORC_WORKER_HANDLER_FAILED',
      retryable: true,
      message: expect.stringContaining('exited with code 3; stderr: disk full'),
    });
    expect(await evaluate(`echo '{"success": false, "reason": "diverged"}'`, { crashes: 'error' })).toMatchObject({ success: false, reason: 'diverged' });
  });

  it('keeps only the last 500 characters of stderr in the reason', async () => {
    const evaluation = await evaluate(`node -e 'process.stderr.write("x".repeat(10000) + "THE END")'; exit 1`);
    expect(evaluation.reason!.startsWith('exited with code 1; stderr: …x')).toBe(true);
    expect(evaluation.reason!.endsWith('xTHE END')).toBe(true);
    expect(evaluation.reason!.length).toBeLessThan(560);
  });

  it('fails when the command is killed by a signal', async () => {
    expect((await evaluate('kill -9 $$')).reason).toBe('was killed by SIGKILL');
  });

  it('fails on output that is not the evaluation format, saying what was wrong', async () => {
    expect((await evaluate('echo hello')).reason).toMatch(/^output is not JSON: /);
    expect((await evaluate(`echo '{"success":true,"value":1}'; echo '{"success":true,"value":2}'`)).reason).toMatch(/^output is not JSON: /);
    expect((await evaluate(`echo '[1, 2]'`)).reason).toBe('output must be one JSON object, got an array');
    expect((await evaluate(`echo '{"success": "yes", "value": 1}'`)).reason).toBe('success must be a boolean');
    expect((await evaluate(`echo '{"success": true, "value": "NaN"}'`)).reason).toBe('value must be a finite number when success is true');
    expect((await evaluate('true')).reason).toBe('output must be one JSON object, got null or nothing');
    expect((await evaluate('echo null')).reason).toBe('output must be one JSON object, got null or nothing');
  });

  it('fails when the command prints more than its limit', async () => {
    const evaluation = await evaluate('head -c 5000 /dev/zero; sleep 30', { maxOutputBytes: 1000 });
    expect(evaluation.reason).toBe('the command printed more than 1000 bytes and was killed');
  });

  it('fails when the command cannot be started', async () => {
    const evaluation = await evaluate('true', { cwd: path.join(dir, 'no-such-folder') });
    expect(evaluation.success).toBe(false);
    expect(evaluation.reason).toMatch(/^could not run true: .*ENOENT/);
  });

  it('fails a command that hangs past its timeout, and leaves no process behind', async () => {
    const pidFile = tempFile('hang.pid');
    const evaluation = await evaluate(`sleep 30 & echo $! > ${pidFile}; wait`, { timeoutMs: 300 });
    expect(evaluation).toMatchObject({ success: false, value: null, reason: 'timed out after 300 ms' });
    // Date.now and the timer wheel may disagree by a millisecond or so.
    expect(evaluation.durationMs).toBeGreaterThanOrEqual(290);
    const child = Number(fs.readFileSync(pidFile, 'utf8'));
    await until('the grandchild to die', () => !alive(child));
  });

  it('rejects with the reason when aborted, and leaves no process behind', async () => {
    const controller = new AbortController();
    const pidFile = tempFile('aborted.pid');
    const running = commandEvaluator(`sleep 30 & echo $! > ${pidFile}; wait`, { clock: systemClock })(input, controller.signal);
    const child = await readPid(pidFile);
    const reason = new Error('experiment stopped');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    await until('the grandchild to die', () => !alive(child));
  });

  it('does not start the command when already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    const marker = tempFile('started');
    await expect(commandEvaluator(`touch ${marker}`, { clock: systemClock })(input, controller.signal)).rejects.toThrow('too late');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('runs the command exactly once per call, even when it fails', async () => {
    const runs = tempFile('runs.log');
    await evaluate(`echo run >> ${runs}; exit 1`);
    await evaluate(`echo run >> ${runs}; echo garbage`);
    expect(fs.readFileSync(runs, 'utf8')).toBe('run\nrun\n');
  });
});
