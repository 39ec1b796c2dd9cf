import { systemClock } from '../../protocol/index.js';
import { openStore } from '../../store/index.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';

/** Opens only the store: migrating needs neither the bus nor the registry. */
export async function migrateCommand(globals: GlobalFlags, options: { json?: boolean }, io: CliIo): Promise<void> {
  const config = loadConfig(globals, io);
  const { db, migrations } = await openStore(config.store, systemClock.now());
  await db.close();
  if (options.json) return printJson(io, { backend: db.backend, schema: config.store.schema, version: migrations.version, applied: migrations.applied });
  const where = config.store.databaseUrl ? `PostgreSQL schema ${config.store.schema}` : `${config.store.dataDir} (embedded)`;
  const applied = migrations.applied.length ? `applied ${migrations.applied.join(', ')}` : 'already up to date';
  print(io, `${where}: schema version ${migrations.version} (${applied})`);
}
