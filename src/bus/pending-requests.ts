import type { Clock, Logger, Message, TimerHandle } from '../protocol/index.js';
import { RemoteError, RequestTimeoutError, BusClosedError } from './errors.js';

interface Waiter {
  resolve(message: Message): void;
  reject(err: Error): void;
  timer: TimerHandle;
  onAbort?: () => void;
  signal?: AbortSignal;
}

/**
 * Requests awaiting their response, by request id. A response is delivered
 * only to the caller that sent the request it correlates with; one that comes
 * after its request timed out finds nobody and is dropped with a log line.
 */
export class PendingRequests {
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  wait(request: Message, timeoutMs: number, signal?: AbortSignal): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = this.clock.setTimeout(() => {
        this.forget(request.id);
        reject(new RequestTimeoutError(request.to, request.action, timeoutMs, request.id));
      }, timeoutMs);
      const waiter: Waiter = { resolve, reject, timer };
      if (signal) {
        waiter.signal = signal;
        waiter.onAbort = () => {
          this.forget(request.id);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.set(request.id, waiter);
    });
  }

  /** Hands a response to its caller; false when nobody waits for it any more. */
  settle(response: Message): boolean {
    const waiter = this.forget(response.correlationId);
    if (!waiter) {
      this.logger.warn(
        { correlationId: response.correlationId, from: response.from, action: response.action },
        'response arrived after its request timed out; dropped',
      );
      return false;
    }
    if (response.error) waiter.reject(new RemoteError(response));
    else waiter.resolve(response);
    return true;
  }

  /** Cancels a request that could not be sent. */
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
