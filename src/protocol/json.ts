import { z } from 'zod';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A value that survives JSON encoding unchanged: no undefined, functions,
 * NaN or Infinity, no cycles. Payloads, results and message data use it.
 */
export const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.number().refine(Number.isFinite, 'must be a finite number'),
    z.string(),
    z.array(jsonValue),
    z.record(z.string(), jsonValue),
  ]),
);

/** Size of a value once encoded as UTF-8 JSON. */
export const encodedSize = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '');
