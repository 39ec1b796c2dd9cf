import fs from 'node:fs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createRng, systemClock } from '../../src/protocol/index.js';
import { openPostgres, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';
import { exitWithin, runCli, spawnCli, tempDir, waitFor } from './support.js';

/** Reads the payload on stdin and prints its word in capitals, as JSON. */
const UPPER = `node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s).word.toUpperCase())))'`;

describe('orchestra worker, on PostgreSQL', () => {
  let db: Db;
  let registry: TaskRegistry;
  let env: Record<string, string>;
  let cwd: string;

  beforeAll(async () => {
    const schema = uniqueName('cli_worker');
    env = { DATABASE_URL, ORCHESTRA_SCHEMA: schema };
    cwd = tempDir();
    expect((await runCli(['migrate'], { env, cwd })).code).toBe(0);
    db = await openPostgres({ url: DATABASE_URL, schema });
    registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1) });
  });

  afterAll(async () => {
    await db?.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await db?.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('runs tasks added with `tasks add` through an external command, then stops on SIGTERM with exit 0', async () => {
    const added = await runCli(['tasks', 'add', '--json'], {
      env,
      cwd,
      input: ['{"kind":"upper","payload":{"word":"orchestra"}}', '{"kind":"upper","payload":{"word":"bus"}}'].join('\n'),
    });
    const ids: string[] = JSON.parse(added.stdout).map((t: { taskId: string }) => t.taskId);
    const worker = spawnCli(['worker', '--exec', `upper=${UPPER}`, '--kind', 'upper', '--concurrency', '2'], { env, cwd });
    try {
      const done = await waitFor('both tasks to complete', async () => {
        const tasks = await registry.getMany(ids);
        return tasks.every((t) => t.status === 'COMPLETED') && tasks;
      });
      expect(done.map((t) => t.result).sort()).toEqual(['BUS', 'ORCHESTRA']);
      expect(worker.stdout()).toMatch(/^worker \S+ started: kinds upper, concurrency 2\n/);
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await exitWithin(worker, 15_000)).toBe(0);
    expect(worker.stdout()).toMatch(/stopped on SIGTERM: 0 finished during shutdown, 0 released\n$/);
  });

  it('gives a task still running after the grace period back to the queue', async () => {
    const [slow] = await registry.registerMany([{ kind: 'slow' }]);
    const worker = spawnCli(['worker', '--exec', 'slow=sleep 30', '--grace-ms', '100'], { env, cwd });
    try {
      await waitFor('the slow task to start', async () => (await registry.get(slow!.task.taskId)).status === 'RUNNING');
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await exitWithin(worker, 15_000)).toBe(0);
    expect(worker.stderr()).toContain('orchestra: SIGTERM: stopping; 1 running task gets 100 ms to finish');
    expect(worker.stdout()).toContain('0 finished during shutdown, 1 released');
    expect(await registry.get(slow!.task.taskId)).toMatchObject({ status: 'PENDING', workerId: null });
  });

  it('exits at once on a second signal', async () => {
    const [slow] = await registry.registerMany([{ kind: 'stuck' }]);
    const worker = spawnCli(['worker', '--exec', 'stuck=sleep 5', '--grace-ms', '60000'], { env, cwd });
    try {
      await waitFor('the task to start', async () => (await registry.get(slow!.task.taskId)).status === 'RUNNING');
      worker.child.kill('SIGTERM');
      await waitFor('the first signal to be taken', () => worker.stderr().includes('1 running task gets 60000 ms to finish; a second signal exits at once'));
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await exitWithin(worker, 5_000)).toBe(143);
  });
});
