import { z } from 'zod';
import { variablesSchema } from '../protocol/index.js';
import type { Combination } from './combination.js';

/** One evaluation of one combination. `value` is null when `success` is false. */
export interface Observation {
  key: string;
  combination: Combination;
  success: boolean;
  value: number | null;
  generation: number;
  /** Global evaluation counter: orders observations, and `recommend({ since })` cuts on it. */
  trial: number;
  /** When it was measured (ms since the epoch), if known. */
  at?: number;
}

/** The boundary schema for observations coming back from workers or the store. */
export const observationSchema = z
  .object({
    key: z.string().min(1),
    combination: variablesSchema,
    success: z.boolean(),
    value: z.number().nullable(),
    generation: z.number().int().nonnegative(),
    trial: z.number().int().nonnegative(),
    at: z.number().optional(),
  })
  .strict()
  .refine((o) => o.success === (o.value !== null), { message: 'value is null exactly when success is false', path: ['value'] });
