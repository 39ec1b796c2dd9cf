import { describe, it, expect } from 'vitest';
import {
  createMessage,
  createResponse,
  decodeMessage,
  encodeMessage,
  ERROR_CODES,
  ValidationError,
  type Message,
} from '../../src/protocol/index.js';

const request = createMessage({ type: 'request', from: 'caller', to: 'agent-1', action: 'get_status', data: { verbose: true } }, 1_000);

describe('messages', () => {
  it('carries its own id as correlation id, and a response carries the request id and reply address', () => {
    expect(request.correlationId).toBe(request.id);
    const response = createResponse({ ...request, replyTo: 'reply.abc' }, 'agent-1', { data: { ok: true } }, 2_000);
    expect(response).toMatchObject({ type: 'response', from: 'agent-1', to: 'caller', correlationId: request.id, replyTo: 'reply.abc', timestamp: 2_000 });
  });

  it('survives an encode and decode unchanged', () => {
    expect(decodeMessage(encodeMessage(request))).toEqual(request);
  });

  const cases: [string, string, string, string][] = [
    ['not JSON', '{"type":', 'ORC_PROTOCOL_INVALID_JSON', '(root)'],
    ['a missing field', JSON.stringify({ ...request, action: undefined }), 'ORC_PROTOCOL_MISSING_FIELD', 'action'],
    ['a wrong type', JSON.stringify({ ...request, timestamp: 'noon' }), 'ORC_PROTOCOL_WRONG_TYPE', 'timestamp'],
    ['an empty string', JSON.stringify({ ...request, from: '' }), 'ORC_PROTOCOL_OUT_OF_RANGE', 'from'],
    ['an unknown type', JSON.stringify({ ...request, type: 'shout' }), 'ORC_PROTOCOL_INVALID_VALUE', 'type'],
    ['an unknown field', JSON.stringify({ ...request, extra: 1 }), 'ORC_PROTOCOL_UNKNOWN_FIELD', '(root)'],
    ['too many bytes', JSON.stringify({ ...request, data: 'x'.repeat(2 * 1024 * 1024) }), 'ORC_PROTOCOL_TOO_LARGE', '(root)'],
  ];
  it.each(cases)('refuses %s with a stable code naming the field', (_what, raw, code, field) => {
    const err = (() => {
      try {
        decodeMessage(raw);
      } catch (e) {
        return e;
      }
    })() as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.code).toBe(code);
    expect(err.issues[0]!.path).toBe(field);
  });

  it('refuses values JSON cannot carry', () => {
    expect(() => encodeMessage({ ...request, data: { n: Number.NaN } } as Message)).toThrow(ValidationError);
  });

  it('rejects each of 1,000 malformed messages with a known code and a path, and nothing else', () => {
    const fields = ['type', 'id', 'from', 'to', 'correlationId', 'timestamp', 'action', 'data'] as const;
    const wrongValues: unknown[] = [null, 42, '', 'x'.repeat(300), [], {}, true, -1, 'Bad Name!'];
    for (let i = 0; i < 1000; i++) {
      let raw: string;
      switch (i % 5) {
        case 0:
          raw = JSON.stringify(request).slice(0, 10 + (i % 50));
          break;
        case 1: {
          const copy: Record<string, unknown> = { ...request };
          delete copy[fields[i % fields.length]!];
          raw = JSON.stringify(copy);
          break;
        }
        case 2:
          raw = JSON.stringify({ ...request, [fields[i % fields.length]!]: wrongValues[i % wrongValues.length] });
          break;
        case 3:
          raw = JSON.stringify({ ...request, [`field${i}`]: i });
          break;
        default:
          raw = JSON.stringify([request, i]);
      }
      let caught: unknown;
      try {
        const decoded = decodeMessage(raw);
        // A replaced value can happen to be valid (data: {} or to: null): then it must decode cleanly.
        expect(decoded.type).toBeDefined();
        continue;
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect(Object.keys(ERROR_CODES)).toContain((caught as ValidationError).code);
      expect((caught as ValidationError).issues[0]!.path).toBeTruthy();
    }
  });
});

describe('error codes', () => {
  it('all follow ORC_<PART>_<WHAT> and say what they mean', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^ORC_[A-Z]+_[A-Z_]+$/);
      expect(meaning.length).toBeGreaterThan(10);
    }
  });
});
