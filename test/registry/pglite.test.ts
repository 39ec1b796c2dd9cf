import { openPglite, type Db } from '../../src/store/index.js';
import { registryContract } from '../contract/registry.contract.js';

// Starting PGlite takes a second or two: one instance serves the whole suite,
// emptied between tests.
let shared: Db | undefined;

registryContract('PGlite', {
  open: async () => {
    shared ??= await openPglite({ dataDir: ':memory:', schema: 'orchestra' });
    await shared.query(`DROP SCHEMA IF EXISTS orchestra CASCADE`);
    await shared.query(`CREATE SCHEMA orchestra`);
    return shared;
  },
  dispose: async () => undefined,
  closeAll: async () => {
    await shared?.close();
  },
});
