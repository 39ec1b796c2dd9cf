/** The messages between a process and its launcher (launcher-process.ts), over the IPC channel with advanced serialization. */
export type LauncherRequest =
  | { t: 'run'; id: number; command: string; cwd: string | undefined; env: NodeJS.ProcessEnv; input: string }
  | { t: 'forget'; id: number };

export type LauncherReply =
  | { t: 'ready' }
  | { t: 'started'; id: number; pid: number }
  | { t: 'stdout' | 'stderr'; id: number; data: Uint8Array }
  | { t: 'exit' | 'close'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { t: 'error'; id: number; message: string };
