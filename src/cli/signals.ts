const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const EXIT_ON_SIGNAL: Record<(typeof SIGNALS)[number], number> = { SIGINT: 130, SIGTERM: 143 };

export interface ShutdownRequest {
  /** Resolves on the first SIGINT or SIGTERM. */
  readonly requested: Promise<NodeJS.Signals>;
  /** The first signal received, once there is one. */
  readonly signal: NodeJS.Signals | undefined;
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM from the moment a command starts, so a
 * signal that arrives while the store is still opening is a graceful stop
 * too, not a kill that leaves tasks leased. The first signal asks for a
 * graceful shutdown; a second one means "now" and exits at once.
 */
export function listenForShutdown(): ShutdownRequest {
  let received: NodeJS.Signals | undefined;
  let resolve: (signal: NodeJS.Signals) => void = () => undefined;
  const requested = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(EXIT_ON_SIGNAL[signal as (typeof SIGNALS)[number]] ?? 1);
    received = signal;
    resolve(signal);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  return {
    requested,
    get signal() {
      return received;
    },
    dispose: () => {
      for (const s of SIGNALS) process.removeListener(s, onSignal);
    },
  };
}

/** What an operator sees on the first signal: what is being waited for, and how to stop waiting. */
export function stoppingNotice(signal: NodeJS.Signals, running: number, graceMs: number): string {
  const wait = running > 0 ? `; ${running} running task${running === 1 ? '' : 's'} get${running === 1 ? 's' : ''} ${graceMs} ms to finish` : '';
  return `orchestra: ${signal}: stopping${wait}; a second signal exits at once\n`;
}
