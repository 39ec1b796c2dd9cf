import { createRng, describeError, randomSeed, silentLogger, systemClock, type Clock, type Logger } from './protocol/index.js';
import { openStore, StoreDeadLetters, type Db, type MigrationReport, type StoreOptions } from './store/index.js';
import { createBus, type Bus, type BusOptions } from './bus/index.js';
import { TaskRegistry, type RegistryOptions } from './registry/index.js';
import { ProcessTelemetry } from './api/index.js';

/** Where the bus lives: Redis when `redisUrl` is set, in this process otherwise. */
export interface OrchestraBusOptions extends BusOptions {
  redisUrl?: string;
  /** Prefix of every Redis key, so several systems can share one Redis. Default `orchestra`. */
  prefix?: string;
}

export interface OrchestraOptions {
  /** PostgreSQL when `databaseUrl` is set, else PGlite in `dataDir` (default `./.orchestra`; `:memory:` keeps nothing). */
  store?: StoreOptions;
  /** `false` opens no bus: the registry alone, for tools that only read or register tasks. */
  bus?: OrchestraBusOptions | false;
  registry?: RegistryOptions;
  /** Default: the system clock. Tests pass a `ManualClock`. */
  clock?: Clock;
  /** Default: silent. */
  logger?: Logger;
  /** How this process describes itself in the embedded data folder's lock, for whoever it keeps out. Default: its script and arguments. */
  owner?: string;
  /** Seeds the registry's retry jitter. Default: a random seed. */
  seed?: number;
  /** Where the bus's request latencies and the registry's claim latencies are counted. Default: a new one. */
  telemetry?: ProcessTelemetry;
}

/** An open Orchestra: what agents, workers and studies are built on. */
export interface Orchestra<B extends Bus | undefined = Bus> {
  bus: B;
  store: Db;
  registry: TaskRegistry;
  clock: Clock;
  logger: Logger;
  /** The migrations applied on open, and the schema version. */
  migrations: MigrationReport;
  /** This process's measurements: what the API's `/metrics` and `/readyz` add to the store's figures. */
  telemetry: ProcessTelemetry;
  /** Closes the bus, then the store. Stop agents and workers first. */
  close(): Promise<void>;
}

/**
 * Opens the store (migrating it), the bus and the registry, wired together:
 * the bus's dead letters land in the store, and the registry wakes workers on
 * the bus. Every composition root, the command line's included, opens
 * Orchestra here.
 */
export async function createOrchestra(options: OrchestraOptions & { bus: false }): Promise<Orchestra<undefined>>;
export async function createOrchestra(options?: OrchestraOptions & { bus?: OrchestraBusOptions }): Promise<Orchestra>;
export async function createOrchestra(options: OrchestraOptions = {}): Promise<Orchestra<Bus | undefined>> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const telemetry = options.telemetry ?? new ProcessTelemetry();
  const { db, migrations } = await openStore(options.store ?? {}, clock.now(), options.owner ? { owner: options.owner } : {});
  let bus: Bus | undefined;
  try {
    if (options.bus !== false) {
      const { redisUrl, ...busOptions } = options.bus ?? {};
      bus = await createBus({ ...busOptions, ...(redisUrl ? { url: redisUrl } : {}), clock, logger, telemetry, deadLetters: new StoreDeadLetters(db) });
    }
  } catch (err) {
    await db.close();
    throw err;
  }
  const registry = new TaskRegistry({
    db,
    clock,
    rng: createRng(options.seed ?? randomSeed()),
    bus,
    logger,
    telemetry,
    ...(options.registry ? { config: options.registry } : {}),
  });
  let closed = false;
  return {
    bus,
    store: db,
    registry,
    clock,
    logger,
    migrations,
    telemetry,
    // The bus first: its handlers may still write dead letters to the store.
    close: async () => {
      if (closed) return;
      closed = true;
      await bus?.close().catch((err: unknown) => logger.warn({ err: describeError(err) }, 'closing the bus failed'));
      await db.close();
    },
  };
}
