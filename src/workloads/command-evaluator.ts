import { OrchestraError, type Clock, type JsonValue, type Task, type TaskContext } from '../protocol/index.js';
import { CommandError, commandHandler } from './command.js';
import { evaluationFromJson, failedEvaluation, type Evaluation, type Evaluator, type ParsedEvaluation } from './evaluation.js';

export interface CommandEvaluatorOptions {
  /** The I/O timeout of one evaluation. Default 60 s. */
  timeoutMs?: number;
  cwd?: string;
  /** Added to (and overriding) this process's environment. */
  env?: Record<string, string>;
  /** Times the timeout and each evaluation's duration. */
  clock: Clock;
  /** Standard output beyond this kills the command. Default 1 MiB: an evaluation is one small object. */
  maxOutputBytes?: number;
  /**
   * What a run that gave no evaluation (a non-zero exit, a timeout, bad
   * output) is: `evaluation` (default), a failed evaluation of the
   * combination; `error`, a failure of this run, thrown, so a fleet bot
   * reports its attempt failed and another bot runs the test again.
   */
  crashes?: 'evaluation' | 'error';
}

const SECOND = 1000;
const MIB = 1024 * 1024;
/** Enough of stderr for the error a command ends with; the reason is stored with every failed trial. */
const STDERR_TAIL_CHARS = 500;
/** The kind the evaluation is presented as to the command (`ORCHESTRA_TASK_KIND`). */
const EVALUATION_KIND = 'evaluation';

/**
 * An evaluator that runs `command` through `sh -c` once per call, with
 * `{"variables": …, "trial": n}` on stdin, and reads the evaluation format
 * from stdout (see evaluation.ts).
 *
 * It reuses the task command runner, so a command here gets the same process
 * group handling: a timeout or an abort kills everything it started, and so
 * does its own exit. What differs is the outcome: a non-zero exit, a timeout,
 * a crash or bad output is a failed evaluation of the combination (a fact the
 * scorer counts against it), never a thrown error; only cancellation rejects.
 * Nothing is retried here: one call, at most one run.
 *
 * Besides the runner's `ORCHESTRA_TASK_ID` (`trial-<n>`), `ORCHESTRA_TASK_KIND`
 * (`evaluation`) and `ORCHESTRA_ATTEMPT` (1), the command sees `ORCHESTRA_TRIAL`.
 */
export function commandEvaluator(command: string, options: CommandEvaluatorOptions): Evaluator {
  const timeoutMs = options.timeoutMs ?? 60 * SECOND;
  const { clock } = options;
  return async ({ variables, trial }, signal) => {
    signal.throwIfAborted();
    const run = commandHandler(command, {
      timeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? MIB,
      env: { ...options.env, ORCHESTRA_TRIAL: String(trial) },
      cwd: options.cwd,
      clock,
    });
    const startedAt = clock.now();
    let parsed: ParsedEvaluation;
    try {
      const output = await run(evaluationTask({ variables, trial }, startedAt), evaluationContext(signal));
      // The runner reads empty output as null; either way there is no evaluation.
      parsed = output === null ? failedEvaluation('output must be one JSON object, got null or nothing') : evaluationFromJson(output);
    } catch (err) {
      // The runner rejects with the signal's reason on abort: cancellation is not a result.
      if (signal.aborted) throw signal.reason;
      if (options.crashes === 'error') throw new OrchestraError('ORC_WORKER_HANDLER_FAILED', `${command}: ${reasonOf(err, timeoutMs)}`, true, { cause: err });
      parsed = failedEvaluation(reasonOf(err, timeoutMs));
    }
    return { ...parsed, durationMs: Math.max(0, clock.now() - startedAt) } satisfies Evaluation;
  };
}

/** The command runner speaks tasks; an evaluation is presented as a one-attempt task. */
function evaluationTask(input: { variables: Record<string, JsonValue>; trial: number }, now: number): Task {
  return {
    taskId: `trial-${input.trial}`,
    status: 'RUNNING',
    kind: EVALUATION_KIND,
    payload: { variables: input.variables, trial: input.trial },
    priority: 5,
    result: null,
    error: null,
    workerId: null,
    attempt: 1,
    dependsOn: [],
    createdAt: now,
    updatedAt: now,
    maxAttempts: 1,
    idempotencyKey: null,
    runAt: now,
    leaseExpiresAt: null,
  };
}

function evaluationContext(signal: AbortSignal): TaskContext {
  return { signal, workerId: 'evaluator', attempt: 1, dependencies: async () => [] };
}

const tail = (text: string) => {
  const trimmed = text.trim();
  return trimmed.length > STDERR_TAIL_CHARS ? `…${trimmed.slice(-STDERR_TAIL_CHARS)}` : trimmed;
};

/** Why a run produced no evaluation, in words a person reading a failed trial needs. */
function reasonOf(err: unknown, timeoutMs: number): string {
  if (!(err instanceof CommandError)) return `command failed: ${(err as Error)?.message ?? String(err)}`;
  const stderr = typeof err.details['stderr'] === 'string' ? tail(err.details['stderr']) : '';
  const withStderr = (what: string) => (stderr ? `${what}; stderr: ${stderr}` : what);
  switch (err.code) {
    case 'ORC_WORKER_COMMAND_TIMEOUT':
      return withStderr(`timed out after ${timeoutMs} ms`);
    case 'ORC_WORKER_COMMAND_BAD_OUTPUT': {
      // The runner shows the start of stdout only when it was not JSON; otherwise it was too long.
      if (typeof err.details['stdout'] !== 'string') return withStderr(err.message.replace(/^command /, 'the command '));
      return withStderr(`output is not JSON: ${err.message.replace(/^command output is not one JSON value: /, '')}`);
    }
    case 'ORC_WORKER_COMMAND_EXIT': {
      const { exitCode, signal } = err.details;
      if (typeof exitCode === 'number') return withStderr(`exited with code ${exitCode}`);
      if (typeof signal === 'string') return withStderr(`was killed by ${signal}`);
      return err.message; // it could not be started at all
    }
    default:
      return err.message;
  }
}
