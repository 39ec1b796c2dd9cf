import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { describeError } from '../protocol/index.js';
import { createToken } from '../api/index.js';
import { IN_MEMORY, listTokens, revokeToken } from '../store/index.js';
import type { Runtime } from './runtime.js';

/**
 * On the embedded default one process holds the data folder, so a second
 * terminal cannot read the store while `start` runs. The process that holds
 * it and serves the API leaves, next to its lock, where its API is and a
 * viewer token for it (readable by the folder's owner only: whoever can read
 * it could read the store itself). The read commands use it when the folder
 * is held.
 */
const FILE = 'orchestra-api.json';
/** How the viewer token made for local reads is named, before the process id. */
const LOCAL_READS = 'local reads (process ';

const announcement = z.object({ url: z.string().url(), pid: z.number().int(), token: z.string().min(1) }).strict();
export type LocalApi = z.infer<typeof announcement>;

/**
 * Announces `url` in the data folder, with a viewer token made for it.
 * Returns what undoes it (the file removed, the token revoked); a no-op on
 * PostgreSQL, whose store any process can read, and for a store in memory,
 * which no other process can find.
 */
export async function announceLocalApi(runtime: Runtime, url: string): Promise<() => Promise<void>> {
  const { databaseUrl, dataDir } = runtime.config.store;
  if (databaseUrl || dataDir === IN_MEMORY) return async () => undefined;
  const file = path.join(dataDir, FILE);
  // Written over only when it is a regular file (one left by a process that died), never through anything else.
  const existing = fs.lstatSync(file, { throwIfNoEntry: false });
  if (existing && !existing.isFile()) {
    runtime.logger.warn({ file }, 'not announcing the API in the data folder: the path is not a regular file');
    return async () => undefined;
  }
  // This process holds the folder alone: a token an earlier holder made for local reads outlived it (it was killed), so it goes.
  for (const stale of await listTokens(runtime.db)) {
    if (stale.revokedAt === null && stale.name.startsWith(LOCAL_READS)) await revokeToken(runtime.db, stale.tokenId, runtime.clock.now());
  }
  const { token, row } = await createToken(runtime.db, { name: `${LOCAL_READS}${process.pid})`, role: 'viewer' }, runtime.clock.now());
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ url, pid: process.pid, token } satisfies LocalApi)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return async () => {
    try {
      if (readLocalApi(dataDir)?.pid === process.pid) fs.unlinkSync(file);
    } catch (err) {
      runtime.logger.warn({ file, err: describeError(err) }, 'could not remove the API announcement');
    }
    await revokeToken(runtime.db, row.tokenId, runtime.clock.now());
  };
}

/** The API the process `ownerPid` announced in `dataDir`, if that process did. */
export function readLocalApi(dataDir: string, ownerPid?: number): LocalApi | undefined {
  const file = path.join(dataDir, FILE);
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const result = announcement.safeParse(parsed);
  if (!result.success || (ownerPid !== undefined && result.data.pid !== ownerPid)) return undefined;
  return result.data;
}
