import fs from 'node:fs';
import path from 'node:path';
import { OrchestraError } from '../protocol/index.js';
import { DEFAULT_CONFIG_FILE, resolveConfig, type OrchestraConfig } from './config.js';
import { badArgument } from './errors.js';

export interface GlobalFlags {
  data?: string;
  databaseUrl?: string;
  redisUrl?: string;
  config?: string;
  logLevel?: string;
}

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
}

/** The configuration for one command: its flags over the environment over the config file. */
export function loadConfig(globals: GlobalFlags, io: CliIo, commandFlags: Record<string, unknown> = {}): OrchestraConfig {
  const explicit = globals.config ?? io.env.ORCHESTRA_CONFIG;
  const file = explicit ? path.resolve(io.cwd, explicit) : path.join(io.cwd, DEFAULT_CONFIG_FILE);
  let text: string | undefined;
  if (fs.existsSync(file)) text = fs.readFileSync(file, 'utf8');
  else if (explicit) throw new OrchestraError('ORC_CONFIG_INVALID', `config file ${explicit} does not exist`);
  return resolveConfig({
    file: text === undefined ? undefined : { name: explicit ?? DEFAULT_CONFIG_FILE, text },
    env: io.env,
    flags: {
      'store.dataDir': globals.data === undefined ? undefined : path.resolve(io.cwd, globals.data),
      'store.databaseUrl': globals.databaseUrl,
      'bus.redisUrl': globals.redisUrl,
      logLevel: globals.logLevel,
      ...commandFlags,
    },
  });
}

/** Commander hands flags over as text; numbers are checked here, naming the flag. */
export function intFlag(flag: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw badArgument(`${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
    return n;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function print(io: CliIo, text: string): void {
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
