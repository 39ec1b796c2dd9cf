import { OrchestraError } from '../protocol/index.js';

/** The one query surface every store backend offers: PostgreSQL's dialect, positional parameters. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

export type StoreBackend = 'postgres' | 'pglite';

export interface Db extends Queryable {
  readonly backend: StoreBackend;
  /** The schema Orchestra's tables live in. */
  readonly schema: string;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Schema names are interpolated into DDL, so they are held to plain identifiers. */
export function assertSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new OrchestraError('ORC_CONFIG_INVALID', `schema name "${schema}" must be a lower-case identifier`);
  }
  return schema;
}
