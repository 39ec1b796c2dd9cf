import { z } from 'zod';
import { OrchestraError } from '../protocol/index.js';
import { storeConfig } from '../store/index.js';
import { busConfig, redisUrlProblem } from '../bus/index.js';
import { registryConfig } from '../registry/index.js';
import { DEFAULT_SAMPLE_BYTES } from '../workloads/index.js';
import { apiConfig } from '../api/index.js';
import { agentConfig, experimentConfig, fleetConfig, monitorConfig, resolveWorkerConfig, workerConfig } from '../agents/index.js';

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
        redisUrl: z
          .string()
          .min(1)
          .superRefine((url, ctx) => {
            const problem = redisUrlProblem(url);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional(),
        /** Prefix of every Redis key, so several systems can share one Redis. */
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]+$/, 'must hold only letters, digits and _ . : -')
          .default('orchestra'),
      })
      .prefault({}),
    registry: registryConfig.prefault({}),
    worker: workerConfig.prefault({}),
    agent: agentConfig.prefault({}),
    monitor: monitorConfig.prefault({}),
    experiment: experimentConfig.prefault({}),
    fleet: fleetConfig
      .extend({
        /** In-process bots `orchestra start` runs; 0 leaves the tests to bots that join over HTTP (`orchestra bot`). */
        bots: z.number().int().min(0).max(256).default(8),
      })
      .prefault({}),
    /**
     * Evaluators studies started over HTTP may name (`POST /api/studies`), each
     * a command run with the evaluator protocol: a request names one, never
     * carries a command line.
     */
    workloads: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a workload name is lower-case letters, digits, _ and -, starting with a letter'),
        z.object({ command: z.string().min(1), timeoutMs: z.number().int().positive().optional() }).strict(),
      )
      .default({}),
    compression: z
      .object({
        /** The folder whose files the built-in compression workload compresses; default: Orchestra's own compiled sources. */
        folder: z.string().min(1).optional(),
        /** At most this much of it is read, once, as the sample. */
        maxBytes: z.number().int().positive().default(DEFAULT_SAMPLE_BYTES),
      })
      .strict()
      .prefault({}),
    research: z
      .object({
        /** Folder of .md and .txt documents the local search provider ranks; default: the corpus shipped with Orchestra. */
        corpusDir: z.string().min(1).optional(),
        /** Sources a research task collects. */
        limit: z.number().int().min(1).max(20).default(5),
      })
      .strict()
      .prefault({}),
    api: apiConfig.prefault({}),
    progress: z
      .object({
        /** How often a plain progress line is printed when standard error is not a terminal (a log, CI); a terminal's line is redrawn five times a second. */
        intervalMs: z.number().int().min(50).max(3_600_000).default(2000),
      })
      .strict()
      .prefault({}),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('warn'),
  })
  .strict();

export type OrchestraConfig = z.output<typeof orchestraConfig>;
type Layer = Record<string, unknown>;

/** Environment variables and where each lands in the configuration. */
export const ENVIRONMENT: Readonly<Record<string, string>> = {
  DATABASE_URL: 'store.databaseUrl',
  ORCHESTRA_DATA_DIR: 'store.dataDir',
  ORCHESTRA_SCHEMA: 'store.schema',
  REDIS_URL: 'bus.redisUrl',
  ORCHESTRA_PREFIX: 'bus.prefix',
  ORCHESTRA_LOG_LEVEL: 'logLevel',
  ORCHESTRA_API_PORT: 'api.port',
};

/** Variables whose setting is a number. */
const NUMERIC_VARIABLES = new Set(['ORCHESTRA_API_PORT']);

/** The environment variable naming the configuration file, below `--config`. */
export const CONFIG_FILE_VARIABLE = 'ORCHESTRA_CONFIG';
/** Read when neither `--config` nor ORCHESTRA_CONFIG names a file, and only if it exists. */
export const DEFAULT_CONFIG_FILE = 'orchestra.config.json';

export interface ConfigFlags {
  /** `--config FILE`. */
  config?: string;
  /** Every other flag as a dotted path into the configuration (`store.dataDir`), keyed to its value. */
  values?: Record<string, unknown>;
  /** The flag each dotted path came from (`--data`), so an error names what the user typed. */
  names?: Record<string, string>;
}

/** Returns a file's text, or undefined when there is no such file. */
export type ReadFile = (file: string) => string | undefined;

export interface ResolveOptions {
  /**
   * A command's own defaults (the demo's quick retries): above the schema's
   * defaults, below every source the user controls.
   */
  commandDefaults?: Record<string, unknown>;
}

/**
 * Resolves the configuration: flags over environment over file over defaults.
 * Pure but for `readFile`, so the precedence is testable without a process.
 */
export function resolveConfig(
  flags: ConfigFlags,
  env: Record<string, string | undefined>,
  readFile: ReadFile,
  options: ResolveOptions = {},
): OrchestraConfig {
  const layers: { name: string; values: Layer }[] = [];
  layers.push({ name: 'command defaults', values: fromDotted(options.commandDefaults ?? {}) });

  const file = configFile(flags, env, readFile);
  if (file) layers.push({ name: `config file ${file.name}`, values: parseFile(file.name, file.text) });

  const fromEnv: Layer = {};
  for (const [variable, path] of Object.entries(ENVIRONMENT)) {
    const value = env[variable];
    // An empty variable is how shells unset things (`DATABASE_URL= cmd`); it is not a value.
    // A number's variable holds digits; anything else is left as text, for the schema to refuse by name.
    if (value !== undefined && value !== '') setPath(fromEnv, path, NUMERIC_VARIABLES.has(variable) && /^\d{1,15}$/.test(value) ? Number(value) : value);
  }
  layers.push({ name: 'environment', values: fromEnv });
  layers.push({ name: 'command line', values: fromDotted(flags.values ?? {}) });

  const merged = layers.reduce<Layer>((acc, layer) => deepMerge(acc, layer.values), {});
  const result = orchestraConfig.safeParse(merged);
  if (result.success) {
    // Settings of different parts that contradict each other (a renewal no
    // sooner than the lease runs out) are refused here, before anything opens.
    resolveWorkerConfig(result.data.worker, result.data.registry.leaseMs);
    return result.data;
  }

  const issue = result.error.issues[0]!;
  // An unknown key is reported on its parent object; name the key itself, so
  // the source found is the one that holds it.
  const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const path = [...issue.path.map(String), ...(unknown === undefined ? [] : [unknown])];
  const key = path.join('.') || '(root)';
  const message = unknown === undefined ? issue.message : 'is not a known setting';
  const layer = [...layers].reverse().find((l) => hasPath(l.values, path));
  throw new OrchestraError('ORC_CONFIG_INVALID', `configuration ${key} from ${describeSource(layer?.name, key, flags)}: ${message}`);
}

function configFile(flags: ConfigFlags, env: Record<string, string | undefined>, readFile: ReadFile): { name: string; text: string } | undefined {
  const named = flags.config ?? (env[CONFIG_FILE_VARIABLE] || undefined);
  const text = readFile(named ?? DEFAULT_CONFIG_FILE);
  if (text !== undefined) return { name: named ?? DEFAULT_CONFIG_FILE, text };
  if (named === undefined) return undefined;
  const from = flags.config !== undefined ? '--config' : `environment variable ${CONFIG_FILE_VARIABLE}`;
  throw new OrchestraError('ORC_CONFIG_INVALID', `config file ${named} (from ${from}) does not exist`);
}

function parseFile(name: string, text: string): Layer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new OrchestraError('ORC_CONFIG_INVALID', `config file ${name} is not JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new OrchestraError('ORC_CONFIG_INVALID', `config file ${name} must hold one JSON object`);
  }
  return parsed as Layer;
}

function describeSource(layer: string | undefined, key: string, flags: ConfigFlags): string {
  if (layer === 'environment') {
    const variable = Object.entries(ENVIRONMENT).find(([, p]) => p === key)?.[0];
    return variable ? `environment variable ${variable}` : 'environment';
  }
  if (layer === 'command line') {
    const flag = flags.names?.[key];
    return flag ? `flag ${flag}` : 'command line';
  }
  return layer ?? 'defaults';
}

function fromDotted(values: Record<string, unknown>): Layer {
  const layer: Layer = {};
  for (const [path, value] of Object.entries(values)) if (value !== undefined) setPath(layer, path, value);
  return layer;
}

function setPath(target: Layer, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Layer;
  }
  node[keys.at(-1)!] = value;
}

function hasPath(value: unknown, path: string[]): boolean {
  let node = value;
  for (const key of path) {
    if (!node || typeof node !== 'object' || !(key in node)) return false;
    node = (node as Layer)[key];
  }
  return true;
}

function deepMerge(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isObject(value) && isObject(prev) ? deepMerge(prev, value) : value;
  }
  return out;
}

const isObject = (value: unknown): value is Layer => Boolean(value) && typeof value === 'object' && !Array.isArray(value);
