import { createLogger, OrchestraError, redactUrl, systemClock, type Clock, type Logger } from '../protocol/index.js';
import { DataDirLockedError, describeOwner, type Db, type MigrationReport } from '../store/index.js';
import type { Bus } from '../bus/index.js';
import type { TaskRegistry } from '../registry/index.js';
import type { ProcessTelemetry } from '../api/index.js';
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
  telemetry: ProcessTelemetry;
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
  const common = { store: config.store, owner: commandLine(), registry: config.registry, clock: systemClock, logger };
  const orchestra = options.bus === false ? await createOrchestra({ ...common, bus: false }) : await createOrchestra({ ...common, bus: config.bus });
  const { bus, store: db, registry, clock, migrations, telemetry, close } = orchestra;
  return { config, db, bus, registry, clock, logger, migrations, telemetry, close };
}

/**
 * The runtime of a command that only reads the store (`best`, `tasks list`).
 * On the embedded default a running `start` or `serve` holds the data folder;
 * the refusal then says which process, and the two ways to read the study.
 */
export async function openReader(config: OrchestraConfig, command: string): Promise<Runtime> {
  try {
    return await openRuntime(config, { bus: false });
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    const owner = describeOwner(err.ownerPid, err.ownerCommand);
    throw new OrchestraError(
      'ORC_STORE_DATA_DIR_LOCKED',
      `the data folder ${err.dataDir} is in use by ${owner}: the embedded store belongs to one process at a time, so \`${command}\` cannot read it while that runs; ` +
        `stop it (Ctrl-C, or kill ${err.ownerPid}) and run \`${command}\` again, or run the study on PostgreSQL (DATABASE_URL) to read it while it runs`,
      false,
      { cause: err },
    );
  }
}

/** This command as the data folder's lock records it, with any password in a URL hidden. */
function commandLine(): string {
  const args = process.argv.slice(2).map((arg) => (/^[a-z][a-z0-9+.-]*:\/\/[^/\s]*@/i.test(arg) ? redactUrl(arg) : arg.replace(/(:\/\/[^:/\s]*:)[^@/\s]*@/g, '$1***@')));
  return ['orchestra', ...args].join(' ');
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
