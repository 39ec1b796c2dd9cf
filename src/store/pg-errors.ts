import { OrchestraError, type ErrorCode } from '../protocol/index.js';

/**
 * PostgreSQL refused a statement for a reason a person can act on. The store
 * maps the SQLSTATE here, so no other part decodes PostgreSQL's errors; the
 * server's own words stay in the message and the cause.
 */
export class StoreRefusedError extends OrchestraError {
  constructor(
    code: ErrorCode,
    message: string,
    /** The SQLSTATE PostgreSQL answered with. */
    readonly sqlState: string,
    retryable: boolean,
    cause: unknown,
  ) {
    super(code, message, retryable, { cause });
  }
}

/** A unique constraint refused a row: `column` and `value` name the key when PostgreSQL told them. */
export class DuplicateKeyError extends StoreRefusedError {
  constructor(
    readonly constraint: string | null,
    readonly column: string | null,
    readonly value: string | null,
    cause: unknown,
  ) {
    const what = column && value !== null ? `${column} ${value}` : `this key${constraint ? ` (${constraint})` : ''}`;
    super('ORC_STORE_DUPLICATE_KEY', `a row with ${what} already exists`, '23505', false, cause);
  }
}

interface PgErrorFields {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  constraint?: unknown;
}

/** What each class of refusal means, in the words a message gives it; retryable when waiting may help. */
const REFUSALS: readonly { match: (sqlState: string) => boolean; code: ErrorCode; say: string; retryable: boolean }[] = [
  { match: (s) => s === '53100', code: 'ORC_STORE_DISK_FULL', say: 'the database server has no disk space left; free space on its volume', retryable: true },
  { match: (s) => s === '53200', code: 'ORC_STORE_OUT_OF_MEMORY', say: 'the database server ran out of memory', retryable: true },
  { match: (s) => s.startsWith('53'), code: 'ORC_STORE_OUT_OF_RESOURCES', say: 'the database server ran out of resources', retryable: true },
  { match: (s) => s.startsWith('54'), code: 'ORC_STORE_LIMIT_EXCEEDED', say: 'a value or statement is beyond a limit of the database', retryable: false },
  {
    // 22P05: text with U+0000 or a character the encoding lacks; 22P02: JSON with a lone surrogate, among others.
    match: (s) => s === '22P05' || s === '22P02' || s === '22021' || s === '22003' || s === '22001',
    code: 'ORC_STORE_UNSTORABLE_VALUE',
    say: 'the database cannot hold a value it was given',
    retryable: false,
  },
];

/**
 * Turns an error of the PostgreSQL drivers (pg, PGlite) into an Orchestra
 * error when its SQLSTATE is one of the refusals above; anything else
 * (already an Orchestra error, a bug in a statement) is returned unchanged.
 */
export function translatePgError(err: unknown): unknown {
  if (err instanceof OrchestraError || err === null || typeof err !== 'object') return err;
  const { code, message, detail, constraint } = err as PgErrorFields;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return err;
  const said = typeof message === 'string' ? message : '';
  if (code === '23505') {
    // "Key (task_id)=(job-1) already exists."
    const key = typeof detail === 'string' ? /^Key \(([^)]*)\)=\((.*)\) already exists\.?$/.exec(detail) : null;
    return new DuplicateKeyError(typeof constraint === 'string' ? constraint : null, key?.[1] ?? null, key?.[2] ?? null, err);
  }
  const refusal = REFUSALS.find((r) => r.match(code));
  if (!refusal) return err;
  return new StoreRefusedError(refusal.code, `${refusal.say} (PostgreSQL ${code}: ${said})`, code, refusal.retryable, err);
}
