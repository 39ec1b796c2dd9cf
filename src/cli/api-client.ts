import { describeError, ERROR_CODES, OrchestraError, type ErrorCode } from '../protocol/index.js';
import { noStudyYet } from '../api/index.js';
import type { LocalApi } from './local-api.js';

/** An error answer of the API: Orchestra's error, with the HTTP status it came with. */
export class ApiCallError extends OrchestraError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message, status === 429 || status >= 500);
  }
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

  /** The study named, which the routes that read it check; without one, the study most recently changed. */
  async study(studyId: string | undefined): Promise<string> {
    if (studyId !== undefined) return studyId;
    const { studies } = await this.get<{ studies: { studyId: string }[] }>('/api/studies');
    if (!studies[0]) throw noStudyYet();
    return studies[0].studyId;
  }

  /** `signal` abandons the call (a long poll given up at shutdown): it rejects with the signal's reason. */
  post<T>(route: string, body: unknown = {}, signal?: AbortSignal): Promise<T> {
    return this.call<T>('POST', route, body, signal);
  }

  /** The same server, with another token. */
  as(token: string): ApiClient {
    return new ApiClient({ url: this.api.url, token });
  }

  private async call<T>(method: 'GET' | 'POST', route: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.api.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${this.api.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const cause = (err as { cause?: unknown }).cause;
      throw new OrchestraError('ORC_CLI_NO_RUNNING_SYSTEM', `cannot reach the API at ${this.api.url}: ${describeError(cause ?? err).message}`, true, { cause: err });
    }
    const answer = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    if (res.ok) return answer as T;
    const code: ErrorCode = typeof answer.code === 'string' && answer.code in ERROR_CODES ? (answer.code as ErrorCode) : 'ORC_API_INTERNAL';
    throw new ApiCallError(res.status, code, answer.message ?? `the API answered ${res.status} to ${method} ${route}`);
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
