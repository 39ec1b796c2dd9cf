/** The API as the dashboard reads it: the signed-in token on every call, errors as sentences. */

const TOKEN_KEY = 'orchestra.token';

/** Kept only while the tab is open: sessionStorage, never localStorage or a cookie. */
export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value: string | null) {
    if (value === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, value);
  },
};

/** A server type as JSON carries it: dates become ISO strings. */
export type Wire<T> = T extends Date ? string : T extends readonly (infer U)[] ? Wire<U>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${session.token ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const { code = 'ORC_API_ERROR', message = `${res.status} ${res.statusText}` } = (json ?? {}) as { code?: string; message?: string };
    throw new ApiFailure(res.status, code, message);
  }
  return json as T;
}

export interface LiveEvent {
  id: string | undefined;
  event: string;
  data: { topic: string; action: string; from: string; data: unknown };
}

/**
 * Follows `/events` (fetch, so the token travels in a header, not the URL),
 * and reconnects after a drop with the last id it saw, so the server replays
 * what was missed. `onState` hears whether the stream is up.
 */
export function follow(onEvent: (e: LiveEvent) => void, onState: (live: boolean) => void): () => void {
  let lastId: string | undefined;
  let stopped = false;
  let abort = new AbortController();
  const run = async () => {
    while (!stopped) {
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${session.token ?? ''}` };
        if (lastId) headers['last-event-id'] = lastId;
        const res = await fetch('/events', { headers, signal: abort.signal });
        if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
        onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = parseFrame(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (frame) {
              if (frame.id) lastId = frame.id;
              onEvent(frame);
            }
          }
        }
      } catch {
        // Dropped, refused or aborted: said below, tried again unless stopped.
      }
      onState(false);
      if (!stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void run();
  return () => {
    stopped = true;
    abort.abort();
    abort = new AbortController();
  };
}

function parseFrame(block: string): LiveEvent | undefined {
  let id: string | undefined;
  let event: string | undefined;
  let data: string | undefined;
  for (const line of block.split('\n')) {
    if (line.startsWith('id: ')) id = line.slice(4);
    else if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data = line.slice(6);
  }
  if (!event || data === undefined) return undefined;
  try {
    return { id, event, data: JSON.parse(data) as LiveEvent['data'] };
  } catch {
    return undefined;
  }
}
