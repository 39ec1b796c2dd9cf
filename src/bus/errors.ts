import { OrchestraError, type Message } from '../protocol/index.js';

/** No response came in time. Retryable: the receiver may only have been slow or restarting. */
export class RequestTimeoutError extends OrchestraError {
  constructor(
    readonly to: string | null,
    readonly action: string,
    readonly timeoutMs: number,
    readonly correlationId: string,
  ) {
    super('ORC_BUS_REQUEST_TIMEOUT', `request ${action} to ${to ?? '(nobody)'} got no response within ${timeoutMs} ms`, true);
  }
}

/** The receiver answered with an error; its code travels as `remoteCode`, the whole answer as `response`. */
export class RemoteError extends OrchestraError {
  readonly remoteCode: string;
  constructor(readonly response: Message) {
    const code = response.error?.code ?? 'ERROR';
    super('ORC_BUS_REMOTE_ERROR', `${response.from} answered ${response.action} with ${code}: ${response.error?.message ?? ''}`);
    this.remoteCode = code;
  }
}

export class BusClosedError extends OrchestraError {
  constructor() {
    super('ORC_BUS_CLOSED', 'the bus is closed');
  }
}

/**
 * An inbox already holds `inboxMaxLen` undelivered messages: its agent is down
 * or far behind. Refusing the send is the back-pressure; trimming would lose
 * messages silently. Retryable, once the receiver catches up.
 */
export class InboxFullError extends OrchestraError {
  constructor(
    readonly inbox: string,
    readonly maxLen: number,
  ) {
    super('ORC_BUS_INBOX_FULL', `inbox ${inbox} holds ${maxLen} undelivered messages; its receiver is down or behind`, true);
  }
}

/** The backend failed a command (Redis down, connection lost past its retries). */
export class BusUnreachableError extends OrchestraError {
  constructor(what: string, cause: unknown) {
    super('ORC_BUS_UNREACHABLE', `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, true, { cause });
  }
}
