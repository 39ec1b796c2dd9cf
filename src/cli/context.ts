import fs from 'node:fs';
import path from 'node:path';
import { OrchestraError } from '../protocol/index.js';
import { resolveConfig, type OrchestraConfig } from './config.js';
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

/** A command flag that sets a configuration key: its dotted path, the flag as typed, its value. */
export interface ConfigFlag {
  path: string;
  flag: string;
  value: unknown;
}

/**
 * The configuration for one command: its flags over the environment over the
 * config file over `commandDefaults` over the parts' defaults.
 */
export function loadConfig(
  globals: GlobalFlags,
  io: CliIo,
  commandFlags: ConfigFlag[] = [],
  commandDefaults: Record<string, unknown> = {},
): OrchestraConfig {
  const flags: ConfigFlag[] = [
    { path: 'store.dataDir', flag: '--data', value: globals.data === undefined ? undefined : path.resolve(io.cwd, globals.data) },
    { path: 'store.databaseUrl', flag: '--database-url', value: globals.databaseUrl },
    { path: 'bus.redisUrl', flag: '--redis-url', value: globals.redisUrl },
    { path: 'logLevel', flag: '--log-level', value: globals.logLevel },
    ...commandFlags,
  ];
  return resolveConfig(
    {
      config: globals.config,
      values: Object.fromEntries(flags.map((f) => [f.path, f.value])),
      names: Object.fromEntries(flags.map((f) => [f.path, f.flag])),
    },
    io.env,
    (file) => readConfigFile(path.resolve(io.cwd, file)),
    { commandDefaults },
  );
}

function readConfigFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OrchestraError('ORC_CONFIG_INVALID', `cannot read config file ${file}: ${(err as Error).message}`);
  }
}

/** Commander hands flags over as text; numbers are checked here, naming the flag. */
export function intFlag(flag: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw badArgument(`${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
    return n;
  };
}

/** A flag that is `on` or `off`, checked here, naming the flag. */
export function onOffFlag(flag: string) {
  return (value: string): boolean => {
    if (value === 'on') return true;
    if (value === 'off') return false;
    throw badArgument(`${flag} must be on or off, not "${value}"`);
  };
}

export function print(io: CliIo, text: string): void {
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
