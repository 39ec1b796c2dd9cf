import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { describeError, ERROR_CODES, OrchestraError, type ErrorCode } from '../protocol/index.js';
import { createToken } from '../api/index.js';
import { revokeToken } from '../store/index.js';
import type { Runtime } from './runtime.js';

/**
 * On the embedded default one process holds the data folder, so a second
 * terminal cannot read the store while `start` runs. The process that holds
 * it and serves the API leaves, next to its lock, where its API is and a
 * viewer token for it (readable by the folder's owner only: whoever can read
 * it could read the store itself). The read commands use it when the folder
 * is held.
 */
const FILE = 'orchestra-api.json';

const announcement = z.object({ url: z.string().url(), pid: z.number().int(), token: z.string().min(1) }).strict();
export type LocalApi = z.infer<typeof announcement>;

/**
 * Announces `url` in the data folder, with a viewer token made for it.
 * Returns what undoes it (the file removed, the token revoked); a no-op on
 * PostgreSQL, whose store any process can read.
 */
export async function announceLocalApi(runtime: Runtime, url: string): Promise<() => Promise<void>> {
  const { databaseUrl, dataDir } = runtime.config.store;
  if (databaseUrl) return async () => undefined;
  const file = path.join(dataDir, FILE);
  // Written over only when it is a regular file (one left by a process that died), never through anything else.
  const existing = fs.lstatSync(file, { throwIfNoEntry: false });
  if (existing && !existing.isFile()) {
    runtime.logger.warn({ file }, 'not announcing the API in the data folder: the path is not a regular file');
    return async () => undefined;
  }
  const { token, row } = await createToken(runtime.db, { name: `local reads (process ${process.pid})`, role: 'viewer' }, runtime.clock.now());
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ url, pid: process.pid, token } satisfies LocalApi)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return async () => {
    try {
      if (readLocalApi(dataDir)?.pid === process.pid) fs.unlinkSync(file);
    } catch (err) {
      runtime.logger.warn({ file, err: describeError(err) }, 'could not remove the API announcement');
    }
    await revokeToken(runtime.db, row.tokenId, runtime.clock.now());
  };
}

/** The API the process `ownerPid` announced in `dataDir`, if that process did. */
export function readLocalApi(dataDir: string, ownerPid?: number): LocalApi | undefined {
  const file = path.join(dataDir, FILE);
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const result = announcement.safeParse(parsed);
  if (!result.success || (ownerPid !== undefined && result.data.pid !== ownerPid)) return undefined;
  return result.data;
}

/** Talks to a running process's API, with its errors as Orchestra's errors. */
export class ApiClient {
  constructor(private readonly api: Pick<LocalApi, 'url' | 'token'>) {}

  get url(): string {
    return this.api.url;
  }

  get<T>(route: string): Promise<T> {
    return this.call<T>('GET', route);
  }

  post<T>(route: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', route, body);
  }

  private async call<T>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.api.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${this.api.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      throw new OrchestraError('ORC_CLI_NO_RUNNING_SYSTEM', `cannot reach the API at ${this.api.url}: ${describeError(cause ?? err).message}`, true, { cause: err });
    }
    const answer = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    if (res.ok) return answer as T;
    const code: ErrorCode = typeof answer.code === 'string' && answer.code in ERROR_CODES ? (answer.code as ErrorCode) : 'ORC_API_INTERNAL';
    throw new OrchestraError(code, answer.message ?? `the API answered ${res.status} to ${method} ${route}`);
  }
}

/** The environment variable that holds the token for `--api`: a flag would show in the process list. */
export const TOKEN_VARIABLE = 'ORCHESTRA_TOKEN';

/** `--api URL` with the token from ORCHESTRA_TOKEN, checked; undefined without `--api`. */
export function apiFromFlag(url: string | undefined, env: Record<string, string | undefined>): ApiClient | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OrchestraError('ORC_CONFIG_INVALID', `--api ${url}: not a URL (for example http://127.0.0.1:7070)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new OrchestraError('ORC_CONFIG_INVALID', `--api ${url}: must be an http:// or https:// URL`);
  const token = env[TOKEN_VARIABLE];
  if (!token) throw new OrchestraError('ORC_CONFIG_INVALID', `--api needs a token in the environment variable ${TOKEN_VARIABLE} (an admin token for actions: orchestra tokens create --role admin)`);
  return new ApiClient({ url: url.replace(/\/+$/, ''), token });
}
