import { createLogger, systemClock, type Clock, type Logger } from '../protocol/index.js';
import type { Db, MigrationReport } from '../store/index.js';
import type { Bus } from '../bus/index.js';
import type { TaskRegistry } from '../registry/index.js';
import { createOrchestra } from '../index.js';
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
 * A command's runtime: Orchestra opened by `createOrchestra` (where the parts
 * are wired) from the resolved configuration, with the command's logger.
 * PGlite in the data folder unless DATABASE_URL is set; the memory bus unless
 * REDIS_URL is set.
 */
export async function openRuntime(config: OrchestraConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const common = { store: config.store, registry: config.registry, clock: systemClock, logger };
  const orchestra = options.bus === false ? await createOrchestra({ ...common, bus: false }) : await createOrchestra({ ...common, bus: config.bus });
  const { bus, store: db, registry, clock, migrations, close } = orchestra;
  return { config, db, bus, registry, clock, logger, migrations, close };
}

/**
 * Builds what a command runs on top of an open runtime (a worker, whose
 * settings are checked as it is built), closing the runtime if that fails:
 * an error must not leave the data folder locked or connections open.
 */
export async function orClose<T>(runtime: Runtime, build: () => T): Promise<T> {
  try {
    return build();
  } catch (err) {
    await runtime.close();
    throw err;
  }
}
