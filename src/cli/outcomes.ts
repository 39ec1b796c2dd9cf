import { OrchestraError } from '../protocol/index.js';
import { lastingFailure, type Evaluation, type Evaluator } from '../workloads/index.js';

const SHOWN_REASONS = 3;
const REASON_CHARS = 160;

/** The most common reasons first, with their counts: `12× exited with code 3 · 2× timed out after 1500 ms`. */
export function commonReasons(reasons: readonly string[], shown = SHOWN_REASONS): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const cut = (r: string) => (r.length > REASON_CHARS ? `${r.slice(0, REASON_CHARS)}…` : r);
  const listed = sorted.slice(0, shown).map(([r, n]) => `${n}× ${cut(r)}`);
  const rest = sorted.slice(shown).reduce((n, [, c]) => n + c, 0);
  return [...listed, ...(rest ? [`${rest} more for other reasons`] : [])].join(' · ');
}

/** A run that evaluated something and never succeeded did not do its job, whatever else went right. */
export function noSuccessError(what: string, reasons: readonly string[]): OrchestraError {
  return new OrchestraError('ORC_CLI_NO_SUCCESS', `no ${what} succeeded (${reasons.length} of ${reasons.length} failed): ${commonReasons(reasons)}`);
}

export interface HopelessEvaluator {
  /** The lasting failure every evaluation so far showed, in words. */
  kind: string;
  /** One of the reasons as recorded, for the details. */
  example: string;
  failed: number;
}

/**
 * Watches an evaluator's outcomes for the case where spending the rest of
 * the budget cannot help: the first `after` evaluations (and every one since)
 * all failed with one lasting failure (see lastingFailure). One success
 * disarms it for good.
 */
export class FailureWatch {
  private readonly reasons: string[] = [];
  private succeeded = false;
  private report: ((h: HopelessEvaluator) => void) | undefined;
  private verdict: HopelessEvaluator | undefined;
  /** Resolves when the evaluator has shown itself hopeless; never otherwise. */
  readonly hopeless: Promise<HopelessEvaluator>;

  constructor(private readonly after = 3) {
    this.hopeless = new Promise((resolve) => (this.report = resolve));
  }

  /** The evaluator, with each outcome seen on its way to the bot. */
  wrap(evaluator: Evaluator): Evaluator {
    return async (input, signal) => {
      // Once hopeless, the command is not run again: an evaluation asked for
      // while the study winds down waits for the stop that cancels it.
      if (this.verdict) await untilAborted(signal);
      const evaluation = await evaluator(input, signal);
      this.record(evaluation);
      return evaluation;
    };
  }

  get failures(): number {
    return this.reasons.length;
  }

  record(evaluation: Pick<Evaluation, 'success' | 'reason'>): void {
    if (this.succeeded) return;
    if (evaluation.success) {
      this.succeeded = true;
      return;
    }
    this.reasons.push(evaluation.reason ?? 'failed');
    if (this.reasons.length < this.after) return;
    const kinds = new Set(this.reasons.map(lastingFailure));
    const [kind] = kinds;
    if (kinds.size === 1 && kind && !this.verdict) {
      this.verdict = { kind, example: this.reasons[0]!, failed: this.reasons.length };
      this.report?.(this.verdict);
    }
  }
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

export function hopelessError(h: HopelessEvaluator): OrchestraError {
  return new OrchestraError(
    'ORC_CLI_EVALUATOR_UNUSABLE',
    `stopped early: the first ${h.failed} evaluations all failed because ${h.kind}, which running it again cannot change (${h.example}); fix the evaluator and run again`,
  );
}
