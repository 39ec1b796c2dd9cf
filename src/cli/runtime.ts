import {
  createLogger,
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
  bus: Bus;
  registry: TaskRegistry;
  clock: Clock;
  logger: Logger;
  migrations: MigrationReport;
  close(): Promise<void>;
}

/**
 * The composition root: the one place parts are built and wired. PGlite in
 * the data folder unless DATABASE_URL is set; the memory bus unless REDIS_URL
 * is set. Dead letters from the bus land in the store.
 */
export async function openRuntime(config: OrchestraConfig, logger: Logger = createLogger({ level: config.logLevel })): Promise<Runtime> {
  const clock = systemClock;
  const { db, migrations } = await openStore(config.store, clock.now());
  let bus: Bus;
  try {
    const { redisUrl, prefix, ...busOptions } = config.bus;
    const deadLetters = new StoreDeadLetters(db);
    bus = redisUrl
      ? await createRedisBus({ ...busOptions, url: redisUrl, prefix, clock, logger, deadLetters })
      : createMemoryBus({ ...busOptions, clock, logger, deadLetters });
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
    close: async () => {
      if (closed) return;
      closed = true;
      await bus.close().catch(() => undefined);
      await db.close();
    },
  };
}
