/**
 * A loop of this process that must keep turning for the process to be of use
 * (a worker's claims, an agent's inbox): asked, it says what is wrong with it,
 * or nothing. `/readyz` asks every one.
 */
export interface LivenessCheck {
  /** Names the loop for whoever reads the problem: `worker host-1-4f2a`. */
  readonly name: string;
  /** Undefined while the loop turns; else why it does not, in a sentence. */
  problem(nowMs: number): string | undefined;
}

/** How a request over the bus ended, for the latency it is counted under. */
export type BusRequestOutcome = 'answered' | 'refused' | 'timed_out';

/**
 * What a process measures of its own work for its metrics endpoint. The parts
 * call it on their hot paths, so every method is cheap and never throws; the
 * composition root decides where the figures go.
 */
export interface Telemetry {
  /** A request over the bus got its answer (`refused`: an error answer) or timed out, `ms` after it was sent. */
  busRequest(action: string, outcome: BusRequestOutcome, ms: number): void;
  /** A claim on the registry returned `found` tasks (or failed, `found` undefined) after `ms`. */
  claim(ms: number, found: number | undefined): void;
  /** Watches a loop until the returned function is called. */
  watch(check: LivenessCheck): () => void;
}

/** Measures nothing: the default of a part given no telemetry. */
export const noTelemetry: Telemetry = {
  busRequest() {},
  claim() {},
  watch: () => () => {},
};
