import type { JsonValue, Message } from '../protocol/index.js';

/*
 * The memory bus hands each receiver its own copy of a message, as a trip
 * through Redis would. It used to make it by encoding to JSON on send and
 * parsing on delivery: two thirds of that bus's time once validation was fast
 * (the raw in-process baseline of bench/bus.ts is exactly that work). A copy
 * made by walking the validated message costs a fraction, and is the same
 * value: validated data holds only null, booleans, finite numbers, strings,
 * plain objects and arrays, no cycles and no undefined, which JSON carries
 * unchanged except for -0 (it becomes 0, here too) and the prototype of an
 * object without one (the copy gets Object.prototype, as JSON.parse gives).
 */

/** A copy of a validated message: what JSON.parse(JSON.stringify(message)) returns, without the text. */
export function copyMessage(message: Message): Message {
  const copy: Message = {
    type: message.type,
    id: message.id,
    from: message.from,
    to: message.to,
    correlationId: message.correlationId,
    timestamp: message.timestamp === 0 ? 0 : message.timestamp,
    action: message.action,
    data: copyJson(message.data),
  };
  // JSON drops an optional field present but undefined.
  if (message.replyTo !== undefined) copy.replyTo = message.replyTo;
  if (message.error !== undefined) copy.error = { code: message.error.code, message: message.error.message };
  return copy;
}

/** Validated data is at most MAX_JSON_DEPTH deep, so recursion is safe. */
function copyJson(value: JsonValue): JsonValue {
  if (typeof value !== 'object' || value === null) return value === 0 ? 0 : value;
  if (Array.isArray(value)) {
    const list: JsonValue[] = [];
    for (let i = 0; i < value.length; i++) list.push(copyJson(value[i]!));
    return list;
  }
  const object: Record<string, JsonValue> = {};
  for (const key of Object.keys(value)) {
    const item = copyJson(value[key]!);
    // JSON.parse makes `__proto__` an own field; assigning it would set the prototype instead.
    if (key === '__proto__') Object.defineProperty(object, key, { value: item, enumerable: true, writable: true, configurable: true });
    else object[key] = item;
  }
  return object;
}

/**
 * A bound no smaller than the UTF-8 length of the message's JSON text, so
 * the size limit can be checked without writing the text: a UTF-16 unit is
 * at most 6 bytes of JSON (`\u0000`), a number at most 25 characters.
 * Only a message whose bound exceeds the limit is encoded to be measured.
 */
export function encodedBytesBound(message: Message): number {
  // The field names, quotes, colons, commas and braces of the envelope with every optional field.
  let bytes = 160 + stringBound(message.type) + stringBound(message.id) + stringBound(message.from) + stringBound(message.correlationId);
  bytes += stringBound(message.action) + 32 + (message.to === null ? 4 : stringBound(message.to)) + jsonBound(message.data);
  if (message.replyTo !== undefined) bytes += stringBound(message.replyTo);
  if (message.error !== undefined) bytes += 30 + stringBound(message.error.code) + stringBound(message.error.message);
  return bytes;
}

const stringBound = (text: string) => 6 * text.length + 2;

function jsonBound(value: JsonValue): number {
  if (value === null || typeof value === 'boolean') return 5;
  if (typeof value === 'number') return 25;
  if (typeof value === 'string') return stringBound(value);
  let bytes = 2;
  if (Array.isArray(value)) {
    for (const item of value) bytes += jsonBound(item) + 1;
    return bytes;
  }
  for (const key of Object.keys(value)) bytes += stringBound(key) + jsonBound(value[key]!) + 2;
  return bytes;
}
