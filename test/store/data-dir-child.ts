/**
 * A second process for pglite-data-dir.test.ts: opens the store on a data folder
 * and reports on stdout, one JSON line per event.
 *
 *   node --import tsx test/store/data-dir-child.ts <dataDir> try   → {"event":"opened"} or {"event":"refused",code,…}, then exits
 *   node --import tsx test/store/data-dir-child.ts <dataDir> hold  → {"event":"ready",pid}, holds the folder until stdin ends
 */
import { openStore } from '../../src/store/index.js';

const [dataDir, mode] = process.argv.slice(2);
const say = (line: Record<string, unknown>) => process.stdout.write(JSON.stringify(line) + '\n');

if (!dataDir || (mode !== 'try' && mode !== 'hold')) {
  process.stderr.write('usage: data-dir-child.ts <dataDir> try|hold\n');
  process.exit(64);
}

try {
  const store = await openStore({ dataDir }, Date.UTC(2026, 0, 1));
  if (mode === 'try') {
    say({ event: 'opened' });
    await store.db.close();
  } else {
    await store.db.query(`INSERT INTO dead_letters (source, code, reason, raw, received_at) VALUES ('child', 'C', 'from the child', '{}', now())`);
    say({ event: 'ready', pid: process.pid });
    process.stdin.resume();
    process.stdin.on('end', () => {
      void store.db.close().then(() => process.exit(0));
    });
  }
} catch (err) {
  const e = err as { code?: string; name?: string; message?: string; ownerPid?: number; dataDir?: string };
  say({ event: 'refused', code: e.code, name: e.name, message: e.message, ownerPid: e.ownerPid, dataDir: e.dataDir });
  process.exitCode = 2;
}
