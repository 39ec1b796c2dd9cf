import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LauncherReply, LauncherRequest } from './launcher-protocol.js';

/** What a command runs with: the shell command line, its folder and environment, and what it reads on stdin. */
export interface LaunchSpec {
  command: string;
  cwd: string | undefined;
  env: NodeJS.ProcessEnv;
  input: string;
}

/** What becomes of a launched command, in the order a child process reports it. */
export interface LaunchEvents {
  /** The command runs, leading a process group of its own with this id. */
  started(pgid: number): void;
  stdout(data: Uint8Array): void;
  stderr(data: Uint8Array): void;
  /** The command's own process ended; its output may still be open. */
  exit(code: number | null, signal: NodeJS.Signals | null): void;
  /** Its output has ended too. */
  close(code: number | null, signal: NodeJS.Signals | null): void;
  /** It could not be started, or its launcher was lost: nothing more comes. */
  error(message: string): void;
}

export interface Launched {
  /** Stops reading it: its attempt is over. One whose own process has not exited yet is killed with its group. */
  forget(): void;
}

/** Starts commands as `sh -c COMMAND` in process groups of their own. */
export interface Launcher {
  launch(spec: LaunchSpec, events: LaunchEvents): Launched;
}

/** Starts each command from this process: a fork of this process each time. */
export const directLauncher: Launcher = {
  launch(spec, events) {
    const child = spawn('sh', ['-c', spec.command], { cwd: spec.cwd, env: spec.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    if (child.pid) events.started(child.pid);
    child.stdout.on('data', (data: Buffer) => events.stdout(data));
    child.stderr.on('data', (data: Buffer) => events.stderr(data));
    // A command that does not read its input must not fail on a closed pipe.
    for (const stream of [child.stdin, child.stdout, child.stderr]) stream.on('error', () => undefined);
    child.stdin.end(spec.input);
    let exited = false;
    child.once('exit', (code, signal) => {
      exited = true;
      events.exit(code, signal);
    });
    child.once('error', (err) => events.error(err.message));
    child.once('close', (code, signal) => events.close(code, signal));
    return {
      forget() {
        try {
          if (!exited && child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group is gone already.
        }
        child.stdout.destroy();
        child.stderr.destroy();
        child.stdin.destroy();
      },
    };
  },
};

/**
 * Starts commands through a launcher process (launcher-process.ts) forked
 * once, while this process is still small, and kept as long as this process
 * lives: a process holding an embedded database forks slowly, and stands
 * still while it does. The commands' process groups are the same as when
 * started directly, and this process kills them the same way; the launcher
 * kills them too when this process goes.
 *
 * A launcher lost while commands run fails those commands (as a command that
 * could not start) and is forked again for the next one.
 */
export class ProcessLauncher implements Launcher {
  private child: ChildProcess | undefined;
  private ready = false;
  /** Requests held until the launcher says it is ready: one sent earlier could reach it before it listens. */
  private held: LauncherRequest[] = [];
  /** Set when a launcher exited before it was ready: it cannot run here, and commands start directly instead. */
  private broken = false;
  private nextId = 1;
  private readonly pending = new Map<number, { spec: LaunchSpec; events: LaunchEvents; direct?: Launched }>();

  /** `program`: another launcher program to fork (tests give one that cannot start). */
  constructor(private readonly program?: { path: string; execArgv: string[] }) {}

  /** Forks the launcher now, rather than at the first command. */
  start(): void {
    this.process();
  }

  launch(spec: LaunchSpec, events: LaunchEvents): Launched {
    if (this.broken) return directLauncher.launch(spec, events);
    const id = this.nextId++;
    const child = this.process();
    const entry: { spec: LaunchSpec; events: LaunchEvents; direct?: Launched } = { spec, events };
    this.pending.set(id, entry);
    this.hold();
    this.request(child, { t: 'run', id, command: spec.command, cwd: spec.cwd, env: spec.env, input: spec.input });
    return {
      forget: () => {
        if (entry.direct) return entry.direct.forget();
        if (!this.pending.delete(id)) return;
        this.hold();
        this.request(child, { t: 'forget', id });
      },
    };
  }

  private process(): ChildProcess {
    if (this.child) return this.child;
    const { path, execArgv } = this.program ?? launcherProgram();
    const child = fork(path, [], {
      execArgv,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'advanced',
    });
    this.child = child;
    this.ready = false;
    this.held = [];
    child.on('message', (reply: LauncherReply) => {
      if (child === this.child) this.received(child, reply);
    });
    // Sending to a launcher that is going fails the same way its exit does, below.
    child.on('error', () => undefined);
    // Messages it sent before it went may still be on their way when its exit is known: the
    // commands it held are settled once the channel has given everything (their groups with them).
    child.once('exit', (code, signal) => {
      if (child.connected) child.once('disconnect', () => this.lost(child, code, signal));
      else this.lost(child, code, signal);
    });
    this.hold();
    return child;
  }

  /** A launcher gone: its commands fail (or, if it never became ready, start directly). */
  private lost(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    const lost = [...this.pending.values()];
    this.pending.clear();
    const how = signal ? `on ${signal}` : `with code ${code}`;
    if (!this.ready) {
      // It never started, and was sent nothing: its commands start directly, as every later one will.
      this.broken = true;
      process.emitWarning(`the command launcher exited ${how} before it was ready; commands start from this process instead`, { code: 'ORC_LAUNCHER_UNAVAILABLE' });
      for (const entry of lost) entry.direct = directLauncher.launch(entry.spec, entry.events);
      return;
    }
    for (const { events } of lost) events.error(`the command launcher (pid ${child.pid}) exited ${how}`);
  }

  private request(child: ChildProcess, request: LauncherRequest): void {
    if (child !== this.child) return;
    if (!this.ready) this.held.push(request);
    else if (child.connected) child.send(request);
  }

  private received(child: ChildProcess, reply: LauncherReply): void {
    if (reply.t === 'ready') {
      this.ready = true;
      for (const request of this.held.splice(0)) if (child.connected) child.send(request);
      return;
    }
    const events = this.pending.get(reply.id)?.events;
    if (!events) return;
    switch (reply.t) {
      case 'started':
        return events.started(reply.pid);
      case 'stdout':
        return events.stdout(reply.data);
      case 'stderr':
        return events.stderr(reply.data);
      case 'exit':
        return events.exit(reply.code, reply.signal);
      case 'error':
        this.pending.delete(reply.id);
        this.hold();
        return events.error(reply.message);
      case 'close':
        this.pending.delete(reply.id);
        this.hold();
        return events.close(reply.code, reply.signal);
    }
  }

  /** The launcher keeps this process alive only while a command runs, as a child process of its own would. */
  private hold(): void {
    const child = this.child;
    if (!child) return;
    const busy = this.pending.size > 0;
    if (busy) child.ref();
    else child.unref();
    const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
    if (busy) channel?.ref?.();
    else channel?.unref?.();
  }
}

/**
 * launcher-process.js beside this module, without this process's own flags
 * (an inspector port, a profile). Run from the sources (under a test runner),
 * it goes through tsx, named by its path: `--import tsx` would resolve from
 * the working folder.
 */
function launcherProgram(): { path: string; execArgv: string[] } {
  const sources = import.meta.url.endsWith('.ts');
  const script = new URL(sources ? './launcher-process.ts' : './launcher-process.js', import.meta.url);
  return { path: fileURLToPath(script), execArgv: sources ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [] };
}

/** The launcher of this process's commands. */
export const processLauncher = new ProcessLauncher();
