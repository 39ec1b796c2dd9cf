import { z } from 'zod';
import { OrchestraError } from '../protocol/index.js';
import { storeConfig } from '../store/index.js';
import { busConfig } from '../bus/index.js';
import { registryConfig } from '../registry/index.js';
import { workerConfig } from '../agents/index.js';

/**
 * The whole configuration, composed from each part's schema (where its
 * defaults are written). Read from flags, then environment, then a JSON file.
 */
export const orchestraConfig = z
  .object({
    store: storeConfig.prefault({}),
    bus: busConfig
      .extend({
        /** Redis connection string; when absent, the in-process memory bus is used. */
        redisUrl: z.string().min(1).optional(),
        /** Prefix of every Redis key, so several systems can share one Redis. */
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]+$/, 'must hold only letters, digits and _ . : -')
          .default('orchestra'),
      })
      .prefault({}),
    registry: registryConfig.prefault({}),
    worker: workerConfig.prefault({}),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('warn'),
  })
  .strict();

export type OrchestraConfig = z.output<typeof orchestraConfig>;
export type ConfigLayer = Record<string, unknown>;

/** Environment variables and where each lands in the configuration. */
export const ENVIRONMENT: Record<string, string> = {
  DATABASE_URL: 'store.databaseUrl',
  ORCHESTRA_DATA_DIR: 'store.dataDir',
  ORCHESTRA_SCHEMA: 'store.schema',
  REDIS_URL: 'bus.redisUrl',
  ORCHESTRA_PREFIX: 'bus.prefix',
  ORCHESTRA_LOG_LEVEL: 'logLevel',
};

export const DEFAULT_CONFIG_FILE = 'orchestra.config.json';

export interface ConfigSources {
  /** Values from command-line flags, as dotted paths (`store.dataDir`). */
  flags: Record<string, unknown>;
  env: Record<string, string | undefined>;
  /** The config file's text and name, when there is one. */
  file?: { name: string; text: string };
}

/** Resolves the configuration: flags over environment over file over defaults. */
export function resolveConfig(sources: ConfigSources): OrchestraConfig {
  const layers: { name: string; values: ConfigLayer }[] = [];
  if (sources.file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(sources.file.text);
    } catch (err) {
      throw new OrchestraError('ORC_CONFIG_INVALID', `config file ${sources.file.name} is not JSON: ${(err as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new OrchestraError('ORC_CONFIG_INVALID', `config file ${sources.file.name} must hold one JSON object`);
    }
    layers.push({ name: `config file ${sources.file.name}`, values: parsed as ConfigLayer });
  }
  const fromEnv: ConfigLayer = {};
  for (const [variable, path] of Object.entries(ENVIRONMENT)) {
    const value = sources.env[variable];
    if (value !== undefined && value !== '') setPath(fromEnv, path, value);
  }
  layers.push({ name: 'environment', values: fromEnv });
  const fromFlags: ConfigLayer = {};
  for (const [path, value] of Object.entries(sources.flags)) if (value !== undefined) setPath(fromFlags, path, value);
  layers.push({ name: 'command line', values: fromFlags });

  const merged = layers.reduce<ConfigLayer>((acc, layer) => deepMerge(acc, layer.values), {});
  const result = orchestraConfig.safeParse(merged);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.map(String).join('.');
  const source = [...layers].reverse().find((l) => hasPath(l.values, issue.path.map(String)))?.name ?? 'defaults';
  const variable = Object.entries(ENVIRONMENT).find(([, p]) => p === key)?.[0];
  const where = source === 'environment' && variable ? `environment variable ${variable}` : source;
  throw new OrchestraError('ORC_CONFIG_INVALID', `configuration ${key || '(root)'} from ${where}: ${issue.message}`);
}

function setPath(target: ConfigLayer, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as ConfigLayer;
  }
  node[keys.at(-1)!] = value;
}

function hasPath(value: unknown, path: string[]): boolean {
  let node = value;
  for (const key of path) {
    if (!node || typeof node !== 'object' || !(key in node)) return false;
    node = (node as ConfigLayer)[key];
  }
  return true;
}

function deepMerge(base: ConfigLayer, over: ConfigLayer): ConfigLayer {
  const out: ConfigLayer = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as ConfigLayer, value as ConfigLayer)
        : value;
  }
  return out;
}
