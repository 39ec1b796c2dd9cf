import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { systemClock } from '../../src/protocol/index.js';
import { commandEvaluator, lastingFailure } from '../../src/workloads/index.js';

/** The reason the command evaluator records for one run of `command`. */
async function reasonOf(command: string, cwd: string): Promise<string> {
  const evaluation = await commandEvaluator(command, { clock: systemClock, cwd, timeoutMs: 5_000 })({ variables: { x: 1 }, trial: 0 }, new AbortController().signal);
  expect(evaluation.success).toBe(false);
  return evaluation.reason!;
}

describe('lastingFailure, on the reasons the command evaluator gives', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-lasting-'));
    fs.writeFileSync(path.join(cwd, 'not-executable.sh'), '#!/bin/sh\necho "{}"\n', { mode: 0o644 });
  });
  afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

  it('names what no retry can change: no such command, no permission, output that is no evaluation', async () => {
    expect(lastingFailure(await reasonOf('no-such-command-anywhere', cwd))).toBe('the command was not found (exit 127)');
    expect(lastingFailure(await reasonOf('./not-executable.sh', cwd))).toMatch(/permission denied.*\(exit 126\)/);
    expect(lastingFailure(await reasonOf('true', cwd))).toBe('its output is not one JSON object');
    expect(lastingFailure(await reasonOf('echo hello', cwd))).toBe('its output is not JSON');
    expect(lastingFailure(await reasonOf(`echo '{"value": 1}'`, cwd))).toBe('its output has no boolean "success"');
  });

  it('leaves alone what may go otherwise on another try or with other variables', async () => {
    expect(lastingFailure(await reasonOf('echo busy >&2; exit 3', cwd))).toBeNull();
    expect(lastingFailure(await reasonOf(`echo '{"success": false, "reason": "diverged"}'`, cwd))).toBeNull();
    expect(lastingFailure(await reasonOf(`echo '{"success": true, "value": null}'`, cwd))).toBeNull();
  });
});
