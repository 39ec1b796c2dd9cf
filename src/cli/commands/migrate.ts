import { createLogger, systemClock } from '../../protocol/index.js';
import { openStore } from '../../store/index.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';

export async function migrateCommand(globals: GlobalFlags, options: { json?: boolean }, io: CliIo): Promise<void> {
  const config = loadConfig(globals, io);
  createLogger({ level: config.logLevel });
  const { db, migrations } = await openStore(config.store, systemClock.now());
  await db.close();
  const where = config.store.databaseUrl ? `PostgreSQL schema ${config.store.schema}` : `${config.store.dataDir} (embedded)`;
  if (options.json) return printJson(io, { backend: db.backend, schema: config.store.schema, version: migrations.version, applied: migrations.applied });
  const applied = migrations.applied.length ? `applied ${migrations.applied.join(', ')}` : 'already up to date';
  print(io, `${where}: schema version ${migrations.version} (${applied})`);
}
