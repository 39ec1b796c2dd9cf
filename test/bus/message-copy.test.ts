import { describe, it, expect } from 'vitest';
import { createMessage, createRng, validateMessage, type JsonValue, type Message, type Rng } from '../../src/protocol/index.js';
import { copyMessage, encodedBytesBound } from '../../src/bus/message-copy.js';

/** What a trip through Redis gives a receiver. */
const viaJson = (message: Message): Message => JSON.parse(JSON.stringify(message)) as Message;

/** Keys of every object in `value`, in order, so key order is compared too (toStrictEqual ignores it). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value === null || typeof value !== 'object') return Object.is(value, -0) ? '-0' : value;
  return Object.keys(value).map((key) => [key, shape((value as Record<string, unknown>)[key])]);
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;

function randomJson(rng: Rng, depth: number): JsonValue {
  const roll = rng.next();
  if (depth > 4 || roll < 0.5) {
    return pick<JsonValue>(rng, [null, true, false, 0, -0, 1.5, -1e21, 5e-324, 2 ** 53, '', 'text', 'é💥\u2028', '\uD800', '"\\\n\u0000']);
  }
  if (roll < 0.75) return Array.from({ length: Math.floor(rng.next() * 4) }, () => randomJson(rng, depth + 1));
  const object: Record<string, JsonValue> = rng.next() < 0.2 ? (Object.create(null) as Record<string, JsonValue>) : {};
  for (let i = 0; i < Math.floor(rng.next() * 4); i++) {
    const key = pick(rng, ['a', 'b', '10', '2', '__proto__', 'constructor', '', 'é']);
    Object.defineProperty(object, key, { value: randomJson(rng, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return object;
}

describe('copyMessage', () => {
  it('gives what a JSON round trip gives, key order and -0 included, for 5,000 random valid messages', () => {
    const rng = createRng(3);
    for (let i = 0; i < 5_000; i++) {
      const base = createMessage({ type: 'request', from: 'a', to: rng.next() < 0.2 ? null : 'b', action: 'x', data: randomJson(rng, 0) }, rng.next() < 0.1 ? -0 : i);
      const value: Record<string, unknown> = { ...base };
      if (rng.next() < 0.3) value.replyTo = rng.next() < 0.3 ? undefined : 'reply.1';
      if (rng.next() < 0.3) value.error = rng.next() < 0.3 ? undefined : { code: 'E', message: 'é' };
      const message = validateMessage(value);
      const copy = copyMessage(message);
      expect(shape(copy)).toStrictEqual(shape(viaJson(message)));
      expect(Object.getPrototypeOf(copy.data ?? {})).toBe(Object.getPrototypeOf(viaJson(message).data ?? {}));
      expect(encodedBytesBound(message)).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(message)));
    }
  });

  it('shares nothing with the message it copies, and never sets a prototype from a __proto__ field', () => {
    const data = JSON.parse('{"list":[{"n":1}],"__proto__":{"polluted":true}}') as JsonValue;
    const message = validateMessage(createMessage({ type: 'event', from: 'a', to: null, action: 'x', data }, 1));
    const copy = copyMessage(message);
    (message.data as { list: { n: number }[] }).list[0]!.n = 2;
    expect(copy.data).toStrictEqual(JSON.parse('{"list":[{"n":1}],"__proto__":{"polluted":true}}'));
    expect(Object.getPrototypeOf(copy.data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('bounds the encoded size from above even for text JSON escapes six bytes a character', () => {
    const message = createMessage({ type: 'event', from: 'a', to: null, action: 'x', data: { ['\u0001'.repeat(50)]: '\u0000'.repeat(1_000) } }, 1);
    expect(encodedBytesBound(message)).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(message)));
  });
});
