import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, it, expect, afterAll } from 'vitest';
import { openStore, DataDirLockedError } from '../../src/store/index.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-data-'));
  dirs.push(dir);
  return dir;
};

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('embedded data folder', () => {
  it('keeps what was written across a close and a reopen', async () => {
    const dataDir = tempDir();
    const first = await openStore({ dataDir }, Date.UTC(2026, 0, 1));
    await first.db.query(`INSERT INTO dead_letters (source, code, reason, raw, received_at) VALUES ('t', 'C', 'kept', '{}', now())`);
    await first.db.close();
    const second = await openStore({ dataDir }, Date.UTC(2026, 0, 2));
    expect(second.migrations.applied).toEqual([]);
    expect(await second.db.query(`SELECT reason FROM dead_letters`)).toEqual([{ reason: 'kept' }]);
    await second.db.close();
  });

  it('refuses a second opening while the folder is in use, and allows it after close', async () => {
    const dataDir = tempDir();
    const first = await openStore({ dataDir }, 0);
    const err = await openStore({ dataDir }, 0).catch((e) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect(err).toMatchObject({ code: 'ORC_STORE_DATA_DIR_LOCKED', ownerPid: process.pid });
    await first.db.close();
    const again = await openStore({ dataDir }, 0);
    await again.db.close();
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const dataDir = tempDir();
    const gone = spawnSync('true');
    fs.writeFileSync(path.join(dataDir, 'orchestra.lock'), String(gone.pid));
    const store = await openStore({ dataDir }, 0);
    expect(fs.readFileSync(path.join(dataDir, 'orchestra.lock'), 'utf8')).toBe(String(process.pid));
    await store.db.close();
    expect(fs.existsSync(path.join(dataDir, 'orchestra.lock'))).toBe(false);
  });
});
