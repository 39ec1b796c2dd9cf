/**
 * Failures of an evaluator that running it again cannot change: the shell
 * found no such command (exit 127) or may not run it (126), or what it
 * printed is not an evaluation at all. The patterns follow the reasons the
 * command evaluator and the evaluation format give (command-evaluator.ts,
 * evaluation.ts); a failure that depends on the variables (a non-zero exit
 * of the evaluator's own, a timeout, a value that is not finite) is not one.
 */
const LASTING: readonly { pattern: RegExp; kind: string }[] = [
  { pattern: /^exited with code 127\b/, kind: 'the command was not found (exit 127)' },
  { pattern: /^exited with code 126\b/, kind: 'the command may not be run: permission denied or not executable (exit 126)' },
  { pattern: /^output is not JSON\b/, kind: 'its output is not JSON' },
  { pattern: /^output is empty\b|^output must be one JSON object\b/, kind: 'its output is not one JSON object' },
  { pattern: /^success is missing\b|^success must be a boolean\b/, kind: 'its output has no boolean "success"' },
];

/** What kind of lasting failure a failed evaluation's reason shows, or null when another try might go otherwise. */
export function lastingFailure(reason: string): string | null {
  return LASTING.find((l) => l.pattern.test(reason))?.kind ?? null;
}
