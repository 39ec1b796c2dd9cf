import { describe, it, expect } from 'vitest';
import {
  describeError,
  isOrchestraError,
  ERROR_CODES,
  OrchestraError,
  ValidationError,
  type ErrorCode,
} from '../../src/protocol/index.js';

const PARTS = ['PROTOCOL', 'BUS', 'STORE', 'REGISTRY', 'AGENT', 'WORKER', 'WORKLOAD', 'API', 'CONFIG', 'CLI'];

class TaskGoneError extends OrchestraError {
  constructor(readonly taskId: string) {
    super('ORC_REGISTRY_TASK_NOT_FOUND', `task ${taskId} is gone`);
  }
}

describe('ERROR_CODES', () => {
  it('names every code ORC_<PART>_<WHAT> and says in words what it means', () => {
    const codes = Object.entries(ERROR_CODES);
    expect(codes.length).toBeGreaterThan(0);
    for (const [code, meaning] of codes) {
      expect(code).toMatch(/^ORC_[A-Z]+_[A-Z_]+$/);
      expect(code).not.toMatch(/_$/);
      expect(typeof meaning).toBe('string');
      expect(meaning.trim().length).toBeGreaterThan(10);
    }
  });

  it('takes each code part from the parts of the design', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(PARTS).toContain(code.split('_')[1]);
  });

  it('gives no two codes the same description', () => {
    const meanings = Object.values(ERROR_CODES);
    expect(new Set(meanings).size).toBe(meanings.length);
  });

  it('has one protocol code for each way a value can fail validation', () => {
    expect(Object.keys(ERROR_CODES).filter((c) => c.startsWith('ORC_PROTOCOL_')).sort()).toEqual([
      'ORC_PROTOCOL_INVALID_JSON',
      'ORC_PROTOCOL_INVALID_VALUE',
      'ORC_PROTOCOL_MISSING_FIELD',
      'ORC_PROTOCOL_OUT_OF_RANGE',
      'ORC_PROTOCOL_TOO_LARGE',
      'ORC_PROTOCOL_UNKNOWN_FIELD',
      'ORC_PROTOCOL_UNSTORABLE_TEXT',
      'ORC_PROTOCOL_WRONG_TYPE',
    ]);
  });
});

describe('OrchestraError', () => {
  it('carries its code and message, and is not retryable unless told', () => {
    const err = new OrchestraError('ORC_BUS_CLOSED', 'the bus was closed');
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'ORC_BUS_CLOSED', message: 'the bus was closed', retryable: false, name: 'OrchestraError' });
  });

  it('carries retryability and a cause when given', () => {
    const cause = new Error('ECONNRESET');
    const err = new OrchestraError('ORC_BUS_UNREACHABLE', 'redis went away', true, { cause });
    expect(err.retryable).toBe(true);
    expect(err.cause).toBe(cause);
  });

  it('takes the name of the subclass thrown, and keeps its typed fields', () => {
    const err = new TaskGoneError('job-9');
    expect(err).toBeInstanceOf(OrchestraError);
    expect(err.name).toBe('TaskGoneError');
    expect(err.taskId).toBe('job-9');
    expect(err.code).toBe('ORC_REGISTRY_TASK_NOT_FOUND');
    expect(String(err)).toBe('TaskGoneError: task job-9 is gone');
    expect(err.stack).toContain('TaskGoneError');
  });

  it('encodes as JSON to its code and message only', () => {
    expect(JSON.parse(JSON.stringify(new TaskGoneError('job-9')))).toEqual({ code: 'ORC_REGISTRY_TASK_NOT_FOUND', message: 'task job-9 is gone' });
  });

  it('is recognised by isOrchestraError, and other throws are not', () => {
    expect(isOrchestraError(new TaskGoneError('x'))).toBe(true);
    for (const other of [new Error('x'), { code: 'ORC_BUS_CLOSED', message: 'lookalike' }, 'ORC_BUS_CLOSED', null, undefined]) {
      expect(isOrchestraError(other)).toBe(false);
    }
  });
});

describe('ValidationError', () => {
  it('takes its code from the first issue and says where in its message', () => {
    const err = new ValidationError('task', [
      { path: 'priority', code: 'ORC_PROTOCOL_OUT_OF_RANGE', message: 'too big' },
      { path: 'kind', code: 'ORC_PROTOCOL_INVALID_VALUE', message: 'bad' },
    ]);
    expect(err).toBeInstanceOf(OrchestraError);
    expect(err).toMatchObject({ name: 'ValidationError', code: 'ORC_PROTOCOL_OUT_OF_RANGE', subject: 'task', retryable: false });
    expect(err.message).toBe('invalid task: priority: too big (and 1 more)');
  });

  it('falls back to ORC_PROTOCOL_INVALID_VALUE when given no issue', () => {
    const err = new ValidationError('message', []);
    expect(err.code).toBe('ORC_PROTOCOL_INVALID_VALUE');
    expect(err.message).toBe('invalid message: invalid');
  });
});

describe('describeError', () => {
  it('keeps the code and message of an Orchestra error', () => {
    expect(describeError(new TaskGoneError('job-1'))).toEqual({ code: 'ORC_REGISTRY_TASK_NOT_FOUND', message: 'task job-1 is gone' });
  });

  it('keeps a string code another library put on its error', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(describeError(err)).toEqual({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' });
  });

  it('says ERROR for an error without a string code', () => {
    expect(describeError(new TypeError('x is not a function'))).toEqual({ code: 'ERROR', message: 'x is not a function' });
    expect(describeError(Object.assign(new Error('numeric'), { code: 42 }))).toEqual({ code: 'ERROR', message: 'numeric' });
  });

  it('turns anything else thrown into text', () => {
    expect(describeError('plain text')).toEqual({ code: 'ERROR', message: 'plain text' });
    expect(describeError(42)).toEqual({ code: 'ERROR', message: '42' });
    expect(describeError(undefined)).toEqual({ code: 'ERROR', message: 'undefined' });
    expect(describeError(null)).toEqual({ code: 'ERROR', message: 'null' });
    // An object that merely looks like an Orchestra error is not trusted for its code.
    expect(describeError({ code: 'ORC_BUS_CLOSED' })).toEqual({ code: 'ERROR', message: '[object Object]' });
  });

  it('gives every known code back unchanged', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(describeError(new OrchestraError(code, ERROR_CODES[code])).code).toBe(code);
    }
  });
});
