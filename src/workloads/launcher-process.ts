/**
 * The launcher: a small process that starts external commands for the
 * process that forked it, and passes their output back over the IPC channel.
 *
 * Starting a process forks the one that starts it, and a fork costs in
 * proportion to that process's memory: about 20 ms from a process holding an
 * embedded database (400 MB and more), during which its event loop stands
 * still, against about 4 ms from this one. It imports nothing of Orchestra's,
 * so it stays small.
 *
 * It lives exactly as long as its parent: signals sent to the terminal's
 * process group are the parent's to act on (it ends the commands as its
 * shutdown says), and when the channel closes, whether the parent exited,
 * crashed or was killed, every process group this launcher started is
 * killed and it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { LauncherReply, LauncherRequest } from './launcher-protocol.js';

const running = new Map<number, { child: ChildProcess; pgid: number | undefined; exited: boolean }>();

function send(reply: LauncherReply): void {
  // The channel may already be gone (the parent exited): then so is everyone to tell.
  if (process.connected) process.send!(reply);
}

function killGroup(pgid: number | undefined): void {
  try {
    if (pgid) process.kill(-pgid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}

function run(request: Extract<LauncherRequest, { t: 'run' }>): void {
  const { id } = request;
  const child = spawn('sh', ['-c', request.command], { cwd: request.cwd, env: request.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const pgid = child.pid;
  const entry = { child, pgid, exited: false };
  running.set(id, entry);
  if (pgid) send({ t: 'started', id, pid: pgid });
  child.stdout!.on('data', (data: Buffer) => send({ t: 'stdout', id, data }));
  child.stderr!.on('data', (data: Buffer) => send({ t: 'stderr', id, data }));
  for (const stream of [child.stdin!, child.stdout!, child.stderr!]) stream.on('error', () => undefined);
  child.stdin!.end(request.input);
  child.once('exit', (code, signal) => {
    entry.exited = true;
    // What the command left running in its group goes with it, as its own exit ends the attempt.
    killGroup(pgid);
    send({ t: 'exit', id, code, signal });
  });
  child.once('error', (err) => {
    killGroup(pgid);
    running.delete(id);
    send({ t: 'error', id, message: err.message });
  });
  child.once('close', (code, signal) => {
    running.delete(id);
    send({ t: 'close', id, code, signal });
  });
}

/**
 * Ends a command whose attempt is over before its output closed (timed out,
 * aborted, its output too long): its group is killed, if its leader has not
 * exited (the parent may not have heard it start yet, so could not kill it),
 * and nothing more is read: a process that left its group may hold the
 * output open for ever.
 */
function forget(id: number): void {
  const entry = running.get(id);
  if (!entry) return;
  running.delete(id);
  if (!entry.exited) killGroup(entry.pgid);
  entry.child.stdout!.destroy();
  entry.child.stderr!.destroy();
  entry.child.stdin!.destroy();
}

process.on('message', (request: LauncherRequest) => {
  if (request.t === 'run') run(request);
  else forget(request.id);
});

process.on('disconnect', () => {
  for (const { pgid } of running.values()) killGroup(pgid);
  process.exit(0);
});

// The parent decides when commands end; a Ctrl-C reaching the whole terminal group must not take their output away first.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(signal, () => undefined);

send({ t: 'ready' });
