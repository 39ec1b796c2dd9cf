import { OrchestraError } from '../protocol/index.js';

export class StoreUnreachableError extends OrchestraError {
  constructor(readonly target: string, cause: unknown) {
    super('ORC_STORE_UNREACHABLE', `cannot reach the database at ${target}: ${(cause as Error)?.message ?? String(cause)}`, true, { cause });
  }
}

export class BadDatabaseUrlError extends OrchestraError {
  constructor(readonly url: string, reason: string) {
    super('ORC_STORE_BAD_URL', `DATABASE_URL is not usable (${reason}): expected postgres://user@host:port/database`);
  }
}

export class DataDirLockedError extends OrchestraError {
  constructor(
    readonly dataDir: string,
    readonly ownerPid: number,
    /** What the owner runs, as it described itself in the lock file; absent in a lock written before it did. */
    readonly ownerCommand?: string,
  ) {
    super(
      'ORC_STORE_DATA_DIR_LOCKED',
      `the data folder ${dataDir} is in use by ${describeOwner(ownerPid, ownerCommand)}; stop it first, or use another --data folder (or PostgreSQL with DATABASE_URL to share one store between processes)`,
    );
  }
}

/** `process 1234 (orchestra start)`. */
export function describeOwner(pid: number, command?: string): string {
  return `process ${pid}${command ? ` (${command})` : ''}`;
}

export class MigrationError extends OrchestraError {
  constructor(readonly version: number, cause: unknown) {
    super('ORC_STORE_MIGRATION_FAILED', `migration ${version} failed: ${(cause as Error)?.message ?? String(cause)}`, false, { cause });
  }
}

export class SchemaTooNewError extends OrchestraError {
  constructor(readonly found: number, readonly known: number) {
    super('ORC_STORE_SCHEMA_TOO_NEW', `the database is at schema version ${found}, newer than this Orchestra knows (${known}); upgrade Orchestra`);
  }
}

export { StoreRefusedError, DuplicateKeyError, translatePgError } from './pg-errors.js';
