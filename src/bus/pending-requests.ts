import { ValidationError, type Clock, type Logger, type Message, type TimerHandle } from '../protocol/index.js';
import { RemoteError, RequestTimeoutError, BusClosedError } from './errors.js';

interface Waiter {
  resolve(message: Message): void;
  reject(err: unknown): void;
  timer: TimerHandle;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Requests awaiting their response, keyed by request id. A response reaches
 * only the caller whose request id it carries as correlation id; one that comes
 * after its request timed out finds nobody and is dropped with a log line, so
 * it can never be mistaken for the answer to a later request.
 */
export class PendingRequests {
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Registers the request before it is sent, so even an instant response finds its caller. */
  wait(request: Message, timeoutMs: number, signal?: AbortSignal): Promise<Message> {
    if (this.waiters.has(request.id)) {
      throw new ValidationError('message', [
        { path: 'id', code: 'ORC_PROTOCOL_INVALID_VALUE', message: `a request with id ${request.id} is already waiting for its response` },
      ]);
    }
    return new Promise<Message>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = this.clock.setTimeout(() => {
        this.forget(request.id);
        reject(new RequestTimeoutError(request.to, request.action, timeoutMs, request.id));
      }, timeoutMs);
      const onAbort = signal
        ? () => {
            this.forget(request.id);
            reject(signal.reason);
          }
        : undefined;
      if (onAbort) signal!.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(request.id, { resolve, reject, timer, signal, onAbort });
    });
  }

  /** Hands a response to its caller; false when nobody waits for it any more. */
  settle(response: Message): boolean {
    const waiter = this.forget(response.correlationId);
    if (!waiter) {
      this.logger.warn(
        { correlationId: response.correlationId, from: response.from, action: response.action },
        'response arrived after its request timed out or was abandoned; dropped',
      );
      return false;
    }
    if (response.error) waiter.reject(new RemoteError(response));
    else waiter.resolve(response);
    return true;
  }

  /** Forgets a request that could not be sent (its caller gets the send error instead). */
  abandon(requestId: string): void {
    this.forget(requestId);
  }

  rejectAll(): void {
    for (const id of [...this.waiters.keys()]) this.forget(id)?.reject(new BusClosedError());
  }

  get size(): number {
    return this.waiters.size;
  }

  private forget(id: string): Waiter | undefined {
    const waiter = this.waiters.get(id);
    if (!waiter) return undefined;
    this.waiters.delete(id);
    this.clock.clearTimeout(waiter.timer);
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    return waiter;
  }
}

/**
 * The shared shape of `request` on every backend: register, send, and if the
 * send itself fails, report that instead of waiting for a timeout.
 */
export async function sendRequest(
  pending: PendingRequests,
  request: Message,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  send: (request: Message) => Promise<void>,
): Promise<Message> {
  signal?.throwIfAborted();
  const response = pending.wait(request, timeoutMs, signal);
  // The response may fail (abort, close) while the send is still in flight; the caller sees it on return.
  response.catch(() => undefined);
  try {
    await send(request);
  } catch (err) {
    pending.abandon(request.id);
    throw err;
  }
  return response;
}
