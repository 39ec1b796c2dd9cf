import { Histogram, Registry } from 'prom-client';
import type { BusRequestOutcome, LivenessCheck, Telemetry } from '../protocol/index.js';

/** Latency buckets in seconds, from a loopback round trip to a long evaluation. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface LoopProblem {
  name: string;
  problem: string;
}

/**
 * A process's own measurements, as its `/metrics` shows them: the latency of
 * its bus requests and of its workers' claims, and the loops `/readyz` asks
 * whether they turn. One per process, made by the composition root and given
 * to the bus, the registry and the API.
 */
export class ProcessTelemetry implements Telemetry {
  readonly registry = new Registry();
  private readonly requests = new Histogram({
    name: 'orchestra_bus_request_seconds',
    help: "From sending a request over the bus to its answer (refused: an error answer) or its timeout, by action, for this process's requests",
    labelNames: ['action', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly claims = new Histogram({
    name: 'orchestra_task_claim_seconds',
    help: "How long this process's claims on the registry took, by outcome (found tasks, empty, failed)",
    labelNames: ['outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly checks = new Set<LivenessCheck>();

  busRequest(action: string, outcome: BusRequestOutcome, ms: number): void {
    this.requests.observe({ action, outcome }, ms / 1000);
  }

  claim(ms: number, found: number | undefined): void {
    this.claims.observe({ outcome: found === undefined ? 'failed' : found > 0 ? 'found' : 'empty' }, ms / 1000);
  }

  watch(check: LivenessCheck): () => void {
    this.checks.add(check);
    return () => void this.checks.delete(check);
  }

  /** The watched loops that do not turn, each with why. */
  problems(nowMs: number): LoopProblem[] {
    const found: LoopProblem[] = [];
    for (const check of this.checks) {
      const problem = check.problem(nowMs);
      if (problem !== undefined) found.push({ name: check.name, problem });
    }
    return found;
  }

  /** How many loops are watched: `/readyz` says so, so an empty list is not mistaken for a healthy one. */
  get watched(): number {
    return this.checks.size;
  }
}
