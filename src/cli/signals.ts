import { childProcessGroups } from '../workloads/index.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const EXIT_ON_SIGNAL: Record<(typeof SIGNALS)[number], number> = { SIGINT: 130, SIGTERM: 143 };
/**
 * On a second signal, how long the commands still running get between SIGTERM
 * and SIGKILL. Short: the operator asked to exit now, and the commands'
 * tasks will run again elsewhere once their leases expire.
 */
const CHILD_GRACE_MS = 1000;

let exitHookInstalled = false;
/** Set by a second signal: the status the process ends with, however it gets there. */
let signalExitCode: number | undefined;

/**
 * Whatever way this process ends, the command process groups it started end
 * with it: they run detached, so nothing else would stop them.
 */
function killChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    childProcessGroups.killNow();
    // The command may have wound down by itself while its children got their
    // grace; it still ended on the signal, not of its own accord.
    if (signalExitCode !== undefined) process.exitCode = signalExitCode;
  });
}

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
 * graceful shutdown; a second one means "now": the command process groups
 * still running get SIGTERM, SIGKILL a moment later, and the process exits.
 */
export function listenForShutdown(): ShutdownRequest {
  let received: NodeJS.Signals | undefined;
  let resolve: (signal: NodeJS.Signals) => void = () => undefined;
  const requested = new Promise<NodeJS.Signals>((r) => (resolve = r));
  let exiting = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      const code = EXIT_ON_SIGNAL[signal as (typeof SIGNALS)[number]] ?? 1;
      // A third signal does not wait for the grace either.
      if (exiting) process.exit(code);
      exiting = true;
      signalExitCode = code;
      void childProcessGroups.terminate(CHILD_GRACE_MS).finally(() => process.exit(code));
      return;
    }
    received = signal;
    resolve(signal);
  };
  killChildrenOnExit();
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
