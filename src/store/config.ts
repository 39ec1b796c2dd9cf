import { z } from 'zod';

export const storeConfig = z
  .object({
    /** PostgreSQL connection string; when absent, the embedded PGlite database is used. */
    databaseUrl: z.string().min(1).optional(),
    /** Folder of the embedded database; `:memory:` keeps it in memory only. */
    dataDir: z.string().min(1).default('./.orchestra'),
    /** Schema holding Orchestra's tables (PostgreSQL and PGlite alike). */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
      .default('orchestra'),
    poolSize: z.number().int().min(1).max(100).default(10),
  })
  .strict();

export type StoreOptions = z.input<typeof storeConfig>;
export type StoreConfig = z.output<typeof storeConfig>;
