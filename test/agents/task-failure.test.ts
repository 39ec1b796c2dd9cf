import { describe, it, expect } from 'vitest';
import { NonRetryableError, OrchestraError, ValidationError } from '../../src/protocol/index.js';
import { checkResult, toTaskFailure } from '../../src/agents/index.js';
import { CommandError } from '../../src/workloads/index.js';

describe('toTaskFailure', () => {
  it("keeps an OrchestraError's code and retryability", () => {
    expect(toTaskFailure(new OrchestraError('ORC_WORKER_COMMAND_TIMEOUT', 'too slow', true))).toEqual({
      code: 'ORC_WORKER_COMMAND_TIMEOUT',
      message: 'too slow',
      retryable: true,
    });
    const invalid = new ValidationError('payload', [{ path: 'n', code: 'ORC_PROTOCOL_WRONG_TYPE', message: 'expected number' }]);
    expect(toTaskFailure(invalid)).toMatchObject({ code: 'ORC_PROTOCOL_WRONG_TYPE', retryable: false });
  });

  it('keeps the code a handler chose for a NonRetryableError, with its details', () => {
    expect(toTaskFailure(new NonRetryableError('no such file', 'E_MISSING', { path: '/x' }))).toEqual({
      code: 'E_MISSING',
      message: 'no such file',
      retryable: false,
      details: { path: '/x' },
    });
  });

  it('gives any other error the handler-failed code, and retries it', () => {
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    expect(toTaskFailure(enoent)).toEqual({ code: 'ORC_WORKER_HANDLER_FAILED', message: 'ENOENT: no such file', retryable: true });
    expect(toTaskFailure('a string')).toEqual({ code: 'ORC_WORKER_HANDLER_FAILED', message: 'a string', retryable: true });
    expect(toTaskFailure({ retryable: false, message: 'plain object' })).toMatchObject({ retryable: false });
  });

  it("keeps a command's details, drops details that are not JSON, and bounds the message", () => {
    const command = new CommandError('ORC_WORKER_COMMAND_EXIT', 'exit 1', true, { exitCode: 1, signal: null, stderr: 'oops' });
    expect(toTaskFailure(command).details).toEqual({ exitCode: 1, signal: null, stderr: 'oops' });
    const odd = Object.assign(new Error('odd'), { details: { n: 1n } });
    expect(toTaskFailure(odd)).not.toHaveProperty('details');
    expect(toTaskFailure(Object.assign(new Error('list'), { details: [1, 2] }))).not.toHaveProperty('details');
    expect(toTaskFailure(new Error('x'.repeat(10_000))).message.length).toBeLessThanOrEqual(4097);
  });
});

describe('checkResult', () => {
  it('passes JSON values and turns undefined into null', () => {
    expect(checkResult({ a: [1, 'b', null, true] })).toEqual({ ok: true, result: { a: [1, 'b', null, true] } });
    expect(checkResult(undefined)).toEqual({ ok: true, result: null });
  });

  it('refuses, for good, a result with no JSON form', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [{ n: 1n }, cyclic, () => 1]) {
      const checked = checkResult(bad);
      expect(checked.ok).toBe(false);
      if (!checked.ok) expect(checked.error).toMatchObject({ code: 'ORC_WORKER_HANDLER_FAILED', retryable: false });
    }
  });
});
