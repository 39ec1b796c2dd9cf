import { spawn } from 'node:child_process';
import {
  NonRetryableError,
  OrchestraError,
  taskKindSchema,
  type JsonValue,
  type TaskHandler,
} from '../protocol/index.js';

export interface CommandOptions {
  /** Default 5 minutes. */
  timeoutMs?: number;
  /** Standard output beyond this is a failure. Default 10 MiB. */
  maxOutputBytes?: number;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

const STDERR_KEPT = 4096;
const STDOUT_SHOWN = 1024;

/** A command's failure, with what it printed kept for the task's error. */
class CommandError extends OrchestraError {
  constructor(
    code: 'ORC_WORKER_COMMAND_EXIT' | 'ORC_WORKER_COMMAND_TIMEOUT',
    message: string,
    readonly details: Record<string, JsonValue>,
  ) {
    super(code, message, true);
  }
}

/**
 * Runs a command configured on the worker (never one carried by a task)
 * through `sh -c`: the task's payload as JSON on stdin, one JSON value
 * expected on stdout, which becomes the result (empty output means null).
 * It runs in its own process group, so a timeout, a cancellation or a shutdown
 * kills everything it started.
 */
export function commandHandler(command: string, options: CommandOptions = {}): TaskHandler {
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  const maxOutputBytes = options.maxOutputBytes ?? 10 * 1024 * 1024;
  return (task, context) =>
    new Promise<JsonValue>((resolve, reject) => {
      const child = spawn('sh', ['-c', command], {
        cwd: options.cwd,
        env: { ...process.env, ...options.env, ORCHESTRA_TASK_ID: task.taskId, ORCHESTRA_TASK_KIND: task.kind, ORCHESTRA_ATTEMPT: String(task.attempt) },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      let stderr = '';
      let killedFor: 'timeout' | 'abort' | 'output' | null = null;
      const killGroup = (why: 'timeout' | 'abort' | 'output') => {
        killedFor ??= why;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      // The timer guards an operating-system process, so it runs on real time.
      const timer = setTimeout(() => killGroup('timeout'), timeoutMs);
      const onAbort = () => killGroup('abort');
      context.signal.addEventListener('abort', onAbort, { once: true });
      if (context.signal.aborted) onAbort();

      child.stdout.on('data', (chunk: Buffer) => {
        stdoutBytes += chunk.length;
        if (stdoutBytes > maxOutputBytes) return killGroup('output');
        stdout.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEPT);
      });
      // A command that does not read its input must not fail on a closed pipe.
      child.stdin.on('error', () => undefined);
      child.stdin.end(JSON.stringify(task.payload));

      child.once('error', (err) => {
        clearTimeout(timer);
        context.signal.removeEventListener('abort', onAbort);
        reject(new CommandError('ORC_WORKER_COMMAND_EXIT', `could not start ${command}: ${err.message}`, { stderr }));
      });
      child.once('close', (exitCode, signal) => {
        clearTimeout(timer);
        context.signal.removeEventListener('abort', onAbort);
        const out = Buffer.concat(stdout).toString('utf8');
        const facts = { exitCode, signal, stderr } as Record<string, JsonValue>;
        if (killedFor === 'abort') return reject(context.signal.reason ?? new Error('aborted'));
        if (killedFor === 'timeout') {
          return reject(new CommandError('ORC_WORKER_COMMAND_TIMEOUT', `command ran past its ${timeoutMs} ms timeout and was killed`, facts));
        }
        if (killedFor === 'output') {
          return reject(new NonRetryableError(`command printed more than ${maxOutputBytes} bytes`, 'ORC_WORKER_COMMAND_BAD_OUTPUT', facts));
        }
        if (exitCode !== 0) {
          const last = stderr.trim().split('\n').at(-1) ?? '';
          return reject(new CommandError('ORC_WORKER_COMMAND_EXIT', `command exited with ${exitCode ?? signal}${last ? `: ${last}` : ''}`, facts));
        }
        if (out.trim() === '') return resolve(null);
        try {
          resolve(JSON.parse(out) as JsonValue);
        } catch (err) {
          reject(
            new NonRetryableError(`command output is not one JSON value: ${(err as Error).message}`, 'ORC_WORKER_COMMAND_BAD_OUTPUT', {
              ...facts,
              stdout: out.slice(0, STDOUT_SHOWN),
            }),
          );
        }
      });
    });
}

/** Parses a worker's `--exec KIND=COMMAND`. */
export function parseExecSpec(spec: string): { kind: string; command: string } {
  const at = spec.indexOf('=');
  if (at < 0) throw new OrchestraError('ORC_CLI_BAD_ARGUMENT', `--exec "${spec}" must be KIND=COMMAND`);
  const kind = spec.slice(0, at).trim();
  const command = spec.slice(at + 1).trim();
  const valid = taskKindSchema.safeParse(kind);
  if (!valid.success) throw new OrchestraError('ORC_CLI_BAD_ARGUMENT', `--exec "${spec}": kind "${kind}" ${valid.error.issues[0]?.message ?? 'is invalid'}`);
  if (!command) throw new OrchestraError('ORC_CLI_BAD_ARGUMENT', `--exec "${spec}": the command is empty`);
  return { kind, command };
}
