import {
  OrchestraError,
  systemClock,
  taskKindSchema,
  type Clock,
  type JsonValue,
  type TaskHandler,
  type TimerHandle,
} from '../protocol/index.js';
import { childProcessGroups, type ProcessGroups } from './process-groups.js';
import { processLauncher, type Launcher } from './launcher.js';

export interface CommandOptions {
  /** Default 5 minutes. */
  timeoutMs?: number;
  /** Standard output beyond this kills the command and fails the attempt. Default 10 MiB. */
  maxOutputBytes?: number;
  /** Added to (and overriding) the worker's own environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Times the timeout; default the system clock. Tests pass a `ManualClock`. */
  clock?: Clock;
  /** Where the command's process group is registered while it runs; default this process's. */
  groups?: ProcessGroups;
  /** What starts the command; default this process's launcher process (see launcher.ts). */
  launcher?: Launcher;
}

const MINUTE = 60_000;
/** How long one run of a command may take unless told otherwise. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5 * MINUTE;
const MIB = 1024 * 1024;
/** Enough of stderr to hold the error a command ends with, small enough to live in the task row. */
const STDERR_KEPT_BYTES = 4096;
const STDOUT_SHOWN_BYTES = 1024;
/** After a kill, how long its exit is waited for before the attempt ends regardless. */
const KILL_WAIT_MS = 1000;

type CommandErrorCode = 'ORC_WORKER_COMMAND_EXIT' | 'ORC_WORKER_COMMAND_TIMEOUT' | 'ORC_WORKER_COMMAND_BAD_OUTPUT';

/** A command's failure, with what it printed kept for the task's error. */
export class CommandError extends OrchestraError {
  constructor(
    code: CommandErrorCode,
    message: string,
    retryable: boolean,
    readonly details: Record<string, JsonValue>,
  ) {
    super(code, message, retryable);
  }
}

/**
 * Runs a command configured on the worker (never one carried by a task)
 * through `sh -c`: the task's payload as JSON on stdin, one JSON value
 * expected on stdout, which becomes the result. Empty output (only
 * whitespace) is a null result, so commands run for their side effects need
 * not print anything. The payload reaches the command only through stdin and
 * the `ORCHESTRA_TASK_*` variables, never through the command line.
 *
 * The command runs in its own process group: a timeout, a cancellation, a
 * lost lease or a shutdown kills everything it started, and so does its own
 * exit, so a background job it left behind cannot hold its output open. The
 * group is registered in `groups` while it runs, so that this process,
 * exiting on a second signal, kills it too.
 */
export function commandHandler(command: string, options: CommandOptions = {}): TaskHandler {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const maxOutputBytes = options.maxOutputBytes ?? 10 * MIB;
  const clock = options.clock ?? systemClock;
  const groups = options.groups ?? childProcessGroups;
  const launcher = options.launcher ?? processLauncher;
  return (task, context) =>
    new Promise<JsonValue>((resolve, reject) => {
      if (context.signal.aborted) return reject(context.signal.reason);
      let pgid: number | undefined;
      const spec = {
        command,
        cwd: options.cwd,
        env: {
          ...process.env,
          ...options.env,
          ORCHESTRA_TASK_ID: task.taskId,
          ORCHESTRA_TASK_KIND: task.kind,
          ORCHESTRA_ATTEMPT: String(task.attempt),
        },
        input: JSON.stringify(task.payload),
      };
      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      let stderrTail = Buffer.alloc(0);
      let killedFor: 'timeout' | 'abort' | 'output' | null = null;
      let exit: { exitCode: number | null; signal: NodeJS.Signals | null } | null = null;
      let settled = false;
      let killWait: TimerHandle | undefined;
      const killGroup = () => {
        try {
          if (pgid) process.kill(-pgid, 'SIGKILL');
        } catch {
          // The group is gone already.
        }
      };
      const timer = clock.setTimeout(() => kill('timeout'), timeoutMs);
      const onAbort = () => kill('abort');
      context.signal.addEventListener('abort', onAbort, { once: true });

      /**
       * Ends the attempt. Once the group is killed nothing more is read: a
       * process that left the group (`setsid`) may hold the output open for
       * ever, and the timeout is a bound on the attempt, not on that process.
       */
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        clock.clearTimeout(killWait);
        context.signal.removeEventListener('abort', onAbort);
        if (pgid) groups.delete(pgid);
        launched.forget();
        outcome();
      };
      const finishKilled = () => finish(() => reject(killedError()));
      const kill = (why: 'timeout' | 'abort' | 'output') => {
        if (settled) return;
        killedFor ??= why;
        killGroup();
        // Its exit tells how it ended; if it has exited already (only its
        // output is held open), or does not within KILL_WAIT_MS, end now.
        if (exit) finishKilled();
        else killWait ??= clock.setTimeout(finishKilled, KILL_WAIT_MS);
      };
      const facts = (): Record<string, JsonValue> => ({ exitCode: exit?.exitCode ?? null, signal: exit?.signal ?? null, stderr: stderrTail.toString('utf8') });
      const killedError = (): unknown => {
        if (killedFor === 'abort') return context.signal.reason;
        if (killedFor === 'timeout') {
          return new CommandError('ORC_WORKER_COMMAND_TIMEOUT', `command ran past its ${timeoutMs} ms timeout and was killed`, true, facts());
        }
        return new CommandError('ORC_WORKER_COMMAND_BAD_OUTPUT', `command printed more than ${maxOutputBytes} bytes and was killed`, false, facts());
      };

      const launched = launcher.launch(spec, {
        started(id) {
          pgid = id;
          groups.add(id);
          // Killed (timed out, aborted) before its launcher said it had started it.
          if (killedFor) killGroup();
        },
        stdout(chunk) {
          if (settled) return;
          stdoutBytes += chunk.length;
          if (stdoutBytes > maxOutputBytes) return kill('output');
          stdout.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        },
        stderr(chunk) {
          stderrTail = Buffer.concat([stderrTail, chunk]);
          if (stderrTail.length > STDERR_KEPT_BYTES) stderrTail = stderrTail.subarray(stderrTail.length - STDERR_KEPT_BYTES);
        },
        exit(exitCode, signal) {
          exit = { exitCode, signal };
          killGroup();
          // The group is dead now. Its number may be given to another process once nothing
          // uses it, so it leaves the set at once: a later kill of the set must not reach that one.
          if (pgid) groups.delete(pgid);
          if (killedFor) finishKilled();
        },
        error(message) {
          killGroup();
          if (pgid) groups.delete(pgid);
          finish(() => reject(new CommandError('ORC_WORKER_COMMAND_EXIT', `could not run ${command}: ${message}`, true, { exitCode: null, signal: null, stderr: '' })));
        },
        // A command that exited normally is read to the end of its output; the timeout still bounds the wait.
        close(exitCode, signal) {
          exit ??= { exitCode, signal };
          if (killedFor) return finishKilled();
          finish(() => {
            const stderr = stderrTail.toString('utf8');
            if (exitCode !== 0) {
              const last = stderr.trim().split('\n').at(-1) ?? '';
              const status = exitCode === null ? `was killed by ${signal}` : `exited with ${exitCode}`;
              return reject(new CommandError('ORC_WORKER_COMMAND_EXIT', `command ${status}${last ? `: ${last}` : ''}`, true, facts()));
            }
            const out = Buffer.concat(stdout);
            const text = out.toString('utf8');
            if (text.trim() === '') return resolve(null);
            try {
              resolve(JSON.parse(text) as JsonValue);
            } catch (err) {
              const stdoutShown = out.subarray(0, STDOUT_SHOWN_BYTES).toString('utf8');
              reject(
                new CommandError('ORC_WORKER_COMMAND_BAD_OUTPUT', `command output is not one JSON value: ${(err as Error).message}`, false, {
                  ...facts(),
                  stdout: stdoutShown,
                }),
              );
            }
          });
        },
      });
    });
}

/**
 * Parses a worker's `--exec KIND=COMMAND`, splitting at the first `=` (a
 * command may hold more). Names the problem in a bad spec rather than
 * starting a worker that can never run the kind.
 */
export function parseExecSpec(spec: string): { kind: string; command: string } {
  const at = spec.indexOf('=');
  if (at < 0) throw new OrchestraError('ORC_CLI_BAD_ARGUMENT', `--exec "${spec}" must be KIND=COMMAND: no "=" found`);
  const kind = spec.slice(0, at).trim();
  const command = spec.slice(at + 1).trim();
  if (kind === '') throw new OrchestraError('ORC_CLI_BAD_ARGUMENT', `--exec "${spec}": the kind before "=" is empty`);
  const valid = taskKindSchema.safeParse(kind);
  if (!valid.success) {
    throw new OrchestraError('ORC_CLI_BAD_ARGUMENT', `--exec "${spec}": kind "${kind}" ${valid.error.issues[0]?.message ?? 'is invalid'}`);
  }
  if (command === '') throw new OrchestraError('ORC_CLI_BAD_ARGUMENT', `--exec "${spec}": the command after "=" is empty`);
  return { kind, command };
}
