import { describe, it, expect } from 'vitest';
import { createMessage, createResponse, ERROR_CODES, OrchestraError } from '../../src/protocol/index.js';
import { BusClosedError, BusUnreachableError, InboxFullError, RemoteError, RequestTimeoutError } from '../../src/bus/index.js';

describe('bus errors', () => {
  const request = createMessage({ type: 'request', from: 'a', to: 'b', action: 'get_bot_status' }, 0);

  it('carry stable, documented codes and say whether trying again can help', () => {
    const errors: [OrchestraError, string, boolean][] = [
      [new RequestTimeoutError('b', 'get_bot_status', 100, request.id), 'ORC_BUS_REQUEST_TIMEOUT', true],
      [new RemoteError(createResponse(request, 'b', { error: { code: 'ORC_X', message: 'no' } }, 0)), 'ORC_BUS_REMOTE_ERROR', false],
      [new BusClosedError(), 'ORC_BUS_CLOSED', false],
      [new InboxFullError('b', 10), 'ORC_BUS_INBOX_FULL', true],
      [new BusUnreachableError('send to inbox b', new Error('ECONNREFUSED')), 'ORC_BUS_UNREACHABLE', true],
    ];
    for (const [err, code, retryable] of errors) {
      expect(err).toBeInstanceOf(OrchestraError);
      expect(err.code).toBe(code);
      expect(err.code in ERROR_CODES).toBe(true);
      expect(err.retryable).toBe(retryable);
      expect(err.name).toBe(err.constructor.name);
    }
  });

  it('name what timed out', () => {
    const err = new RequestTimeoutError('b', 'get_bot_status', 100, request.id);
    expect(err).toMatchObject({ to: 'b', action: 'get_bot_status', timeoutMs: 100, correlationId: request.id });
    expect(err.message).toBe('request get_bot_status to b got no response within 100 ms');
  });

  it('carry the remote code and the whole response of a remote failure', () => {
    const response = createResponse(request, 'b', { error: { code: 'ORC_REGISTRY_TASK_NOT_FOUND', message: 'no task t1' } }, 0);
    const err = new RemoteError(response);
    expect(err.remoteCode).toBe('ORC_REGISTRY_TASK_NOT_FOUND');
    expect(err.response).toBe(response);
    expect(err.message).toContain('no task t1');
  });
});
