import {
  createLogger,
  describeError,
  createRng,
  randomSeed,
  systemClock,
  type Clock,
  type Logger,
} from '../protocol/index.js';
import { openStore, StoreDeadLetters, type Db, type MigrationReport } from '../store/index.js';
import { createMemoryBus, createRedisBus, type Bus } from '../bus/index.js';
import { TaskRegistry } from '../registry/index.js';
import type { OrchestraConfig } from './config.js';

export interface Runtime {
  config: OrchestraConfig;
  db: Db;
  /** Absent when the command asked for none (it only reads). */
  bus: Bus | undefined;
  registry: TaskRegistry;
  clock: Clock;
  logger: Logger;
  migrations: MigrationReport;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /**
   * Whether to connect the bus. Commands that only read the registry go
   * without, so tasks can be inspected while Redis is down.
   */
  bus?: boolean;
  logger?: Logger;
}

/**
 * The composition root: the one place parts are built and wired. PGlite in
 * the data folder unless DATABASE_URL is set; the memory bus unless REDIS_URL
 * is set. Migrations run on open; dead letters from the bus land in the store.
 */
export async function openRuntime(config: OrchestraConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = systemClock;
  const { db, migrations } = await openStore(config.store, clock.now());
  let bus: Bus | undefined;
  try {
    if (options.bus !== false) {
      const { redisUrl, prefix, ...busOptions } = config.bus;
      const deadLetters = new StoreDeadLetters(db);
      bus = redisUrl
        ? await createRedisBus({ ...busOptions, url: redisUrl, prefix, clock, logger, deadLetters })
        : createMemoryBus({ ...busOptions, clock, logger, deadLetters });
    }
  } catch (err) {
    await db.close();
    throw err;
  }
  const registry = new TaskRegistry({ db, clock, rng: createRng(randomSeed()), bus, logger, config: config.registry });
  let closed = false;
  return {
    config,
    db,
    bus,
    registry,
    clock,
    logger,
    migrations,
    // The bus first: its handlers may still write dead letters to the store.
    close: async () => {
      if (closed) return;
      closed = true;
      await bus?.close().catch((err: unknown) => logger.warn({ err: describeError(err) }, 'closing the bus failed'));
      await db.close();
    },
  };
}

/**
 * Builds what a command runs on top of an open runtime (a worker, whose
 * settings are checked as it is built), closing the runtime if that fails:
 * an error must not leave the data folder locked or connections open.
 */
export async function orClose<T>(runtime: Runtime, build: () => T | Promise<T>): Promise<T> {
  try {
    // Awaited here, so a build that rejects closes the runtime too.
    return await build();
  } catch (err) {
    await runtime.close();
    throw err;
  }
}
