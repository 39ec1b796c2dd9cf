/** One stream entry as ioredis returns it: its id and its flat field/value list. */
export interface StreamEntry {
  id: string;
  fields: string[];
}

type RawEntry = [id: string, fields: string[] | null];

/** The entries of a single-stream XREAD / XREADGROUP reply (null when the BLOCK ran out). */
export function entriesOfReadReply(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const [, entries] = reply[0] as [string, RawEntry[]];
  return entriesOf(entries);
}

/** Entries of an XRANGE / XCLAIM reply; an entry deleted while pending comes back without fields and is skipped. */
export function entriesOf(entries: RawEntry[] | null | undefined): StreamEntry[] {
  return (entries ?? []).filter((e): e is [string, string[]] => Array.isArray(e[1])).map(([id, fields]) => ({ id, fields }));
}

/**
 * A field's value. Scans the list instead of building an object, so an entry
 * written by anyone (a field named `__proto__`) cannot reach a prototype.
 */
export function fieldValue(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Orders two stream ids (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? Math.sign(am - bm) : Math.sign(as - bs);
}
