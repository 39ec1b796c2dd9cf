import { OrchestraError, type Message } from '../protocol/index.js';

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

/** The receiver answered with an error; its code travels as `remoteCode`. */
export class RemoteError extends OrchestraError {
  readonly remoteCode: string;
  constructor(readonly response: Message) {
    super('ORC_BUS_REMOTE_ERROR', `${response.from} answered ${response.action} with ${response.error?.code}: ${response.error?.message}`);
    this.remoteCode = response.error?.code ?? 'ERROR';
  }
}

export class BusClosedError extends OrchestraError {
  constructor() {
    super('ORC_BUS_CLOSED', 'the bus is closed');
  }
}
