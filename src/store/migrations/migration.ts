export interface Migration {
  /** Applied in order; never renumbered once released. */
  version: number;
  name: string;
  sql: string;
}
