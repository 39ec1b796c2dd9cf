import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execSync } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { systemClock, createRng } from '../../src/protocol/index.js';
import { openPostgres, migrate, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';
import { spawnCli, waitFor, type CliProcess } from './processes.js';

describe('a worker killed in the middle of a task', () => {
  let db: Db;
  let registry: TaskRegistry;
  let dir: string;
  const workers: CliProcess[] = [];

  beforeAll(async () => {
    db = await openPostgres({ url: DATABASE_URL, schema: uniqueName('crash') });
    await migrate(db, systemClock.now());
    registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1) });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-crash-'));
  });

  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    // The killed worker's command is an orphan now; it was marked with the folder name.
    try {
      execSync(`pkill -f ${JSON.stringify(dir)}`);
    } catch {
      // none left
    }
    fs.rmSync(dir, { recursive: true, force: true });
    await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await db.close();
  });

  it('is run again by another worker after the lease expires, with exactly one accepted result', async () => {
    const flag = path.join(dir, 'first-attempt-started');
    // The first attempt marks its start and hangs; any later one answers at once with who ran it.
    const command = `cat >/dev/null; if [ -e ${flag} ]; then printf '{"by":"%s"}' "$WORKER_NAME"; else touch ${flag}; exec node -e 'setTimeout(() => {}, 120000)' ${dir}; fi`;
    const env = { DATABASE_URL, ORCHESTRA_SCHEMA: db.schema };
    const { task } = await registry.register({ kind: 'slow', payload: { n: 1 } });

    const first = spawnCli(['worker', '--exec', `slow=${command}`, '--concurrency', '1'], { ...env, WORKER_NAME: 'first' });
    workers.push(first);
    await waitFor('the first attempt to start', async () => fs.existsSync(flag));
    const running = await registry.get(task.taskId);
    expect(running).toMatchObject({ status: 'RUNNING', attempt: 1 });

    first.child.kill('SIGKILL');
    await first.exited;

    // Let the lease run out without waiting for it: move its expiry into the past.
    await db.query(`UPDATE tasks SET lease_expires_at = $2 WHERE task_id = $1`, [task.taskId, new Date(Date.now() - 1000)]);
    expect(await registry.sweep()).toEqual({ requeued: [task.taskId], failed: [] });

    const second = spawnCli(['worker', '--exec', `slow=${command}`, '--concurrency', '1'], { ...env, WORKER_NAME: 'second' });
    workers.push(second);
    const done = await waitFor('the task to complete', async () => {
      const t = await registry.get(task.taskId);
      return t.status === 'COMPLETED' ? t : null;
    });
    expect(done).toMatchObject({ attempt: 2, result: { by: 'second' } });
    expect(done.workerId).not.toBe(running.workerId);
    expect(await registry.lateReports(task.taskId)).toEqual([]);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
