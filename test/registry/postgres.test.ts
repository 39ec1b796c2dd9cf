import { openPostgres, type Db } from '../../src/store/index.js';
import { registryContract } from '../contract/registry.contract.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';

registryContract('PostgreSQL', {
  open: () => openPostgres({ url: DATABASE_URL, schema: uniqueName('reg'), poolSize: 8 }),
  dispose: async (db: Db) => {
    await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await db.close();
  },
});
