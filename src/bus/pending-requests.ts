import { noTelemetry, ValidationError, type Clock, type Logger, type Message, type Telemetry, type TimerHandle } from '../protocol/index.js';
import { RemoteError, RequestTimeoutError, BusClosedError } from './errors.js';

interface Waiter {
  request: Message;
  timeoutMs: number;
  /** On the injected clock. */
  sentAtMs: number;
  deadlineMs: number;
  resolve(message: Message): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Requests awaiting their response, keyed by request id. A response reaches
 * only the caller whose request id it carries as correlation id; one that comes
 * after its request timed out finds nobody and is dropped with a log line, so
 * it can never be mistaken for the answer to a later request.
 *
 * One clock timer for them all, not one per request: it is set for the
 * earliest deadline, and when it fires it fails every request past its
 * deadline and is set again for the next. A request answered in time leaves
 * it alone (it then fires once for nothing). A timer per request, and a Map
 * of waiters, cost the memory bus half its time in bench/bus.ts: a Map whose
 * entries come and go keeps its discarded tables linked, so what they held
 * outlived young-generation collections (the system clock's own Map of timers
 * did the same). The waiters live in a plain object instead.
 */
export class PendingRequests {
  private waiters: Record<string, Waiter> = Object.create(null) as Record<string, Waiter>;
  private count = 0;
  private timer: TimerHandle | undefined;
  /** When the timer fires; Infinity when none is set. */
  private timerAtMs = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly telemetry: Telemetry = noTelemetry,
  ) {}

  /** Registers the request before it is sent, so even an instant response finds its caller. */
  wait(request: Message, timeoutMs: number, signal?: AbortSignal): Promise<Message> {
    if (this.waiters[request.id] !== undefined) {
      throw new ValidationError('message', [
        { path: 'id', code: 'ORC_PROTOCOL_INVALID_VALUE', message: `a request with id ${request.id} is already waiting for its response` },
      ]);
    }
    return new Promise<Message>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = signal
        ? () => {
            this.forget(request.id);
            reject(signal.reason);
          }
        : undefined;
      if (onAbort) signal!.addEventListener('abort', onAbort, { once: true });
      const sentAtMs = this.clock.now();
      const deadlineMs = sentAtMs + Math.max(0, timeoutMs);
      this.waiters[request.id] = { request, timeoutMs, sentAtMs, deadlineMs, resolve, reject, signal, onAbort };
      this.count++;
      if (deadlineMs < this.timerAtMs) this.setTimer(deadlineMs);
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
    this.telemetry.busRequest(waiter.request.action, response.error ? 'refused' : 'answered', this.clock.now() - waiter.sentAtMs);
    if (response.error) waiter.reject(new RemoteError(response));
    else waiter.resolve(response);
    return true;
  }

  /** Forgets a request that could not be sent (its caller gets the send error instead). */
  abandon(requestId: string): void {
    this.forget(requestId);
  }

  rejectAll(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
    for (const id of Object.keys(this.waiters)) this.forget(id)?.reject(new BusClosedError());
  }

  get size(): number {
    return this.count;
  }

  private setTimer(atMs: number): void {
    this.clock.clearTimeout(this.timer);
    this.timerAtMs = atMs;
    this.timer = this.clock.setTimeout(() => this.expire(), atMs - this.clock.now());
  }

  /** Fails every request past its deadline, in the order they were made, and sets the timer for the next. */
  private expire(): void {
    this.timer = undefined;
    this.timerAtMs = Number.POSITIVE_INFINITY;
    const nowMs = this.clock.now();
    let nextMs = Number.POSITIVE_INFINITY;
    for (const id of Object.keys(this.waiters)) {
      const waiter = this.waiters[id]!;
      if (waiter.deadlineMs <= nowMs) {
        this.forget(id);
        const { request, timeoutMs } = waiter;
        this.telemetry.busRequest(request.action, 'timed_out', nowMs - waiter.sentAtMs);
        waiter.reject(new RequestTimeoutError(request.to, request.action, timeoutMs, request.id));
      } else if (waiter.deadlineMs < nextMs) {
        nextMs = waiter.deadlineMs;
      }
    }
    if (nextMs < this.timerAtMs) this.setTimer(nextMs);
  }

  private forget(id: string): Waiter | undefined {
    const waiter = this.waiters[id];
    if (waiter === undefined) return undefined;
    delete this.waiters[id];
    this.count--;
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
