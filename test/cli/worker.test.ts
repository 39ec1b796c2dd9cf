import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createRng, systemClock } from '../../src/protocol/index.js';
import { openPostgres, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';
import { withCommandTimeouts } from '../../src/cli/commands/worker.js';
import { exitWithin, runCli, spawnCli, tempDir, waitFor } from './support.js';

/** Reads the payload on stdin and prints its word in capitals, as JSON. */
const UPPER = `node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s).word.toUpperCase())))'`;

/** The processes of group `pgid` still running (zombies, already dead, left out), as `ps` lists them. */
function groupMembers(pgid: number): string[] {
  const lines = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' }).split('\n');
  return lines.filter((line) => {
    const [, group, stat] = line.trim().split(/\s+/);
    return Number(group) === pgid && !stat?.startsWith('Z');
  });
}

/**
 * Kills what is left of group `pgid` after a failed test. Only while it has
 * members: the number of a group that is gone may be given to another
 * process's group, which must not be killed.
 */
function killGroup(pgid: number): void {
  if (groupMembers(pgid).length === 0) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone
  }
}

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
    expect(await exitWithin(worker)).toBe(0);
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
    expect(await exitWithin(worker)).toBe(0);
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
    expect(await exitWithin(worker)).toBe(143);
  });
  it('kills the commands it started, background jobs included, when a second signal makes it exit', async () => {
    const [held] = await registry.registerMany([{ kind: 'hold' }]);
    const pgidFile = path.join(cwd, 'hold.pgid');
    // sh -c leads the command's process group, so its pid is the group's id.
    const worker = spawnCli(['worker', '--exec', `hold=echo $$ > ${pgidFile}; sleep 1000 & sleep 1000; wait`, '--grace-ms', '60000'], { env, cwd });
    let pgid = 0;
    try {
      await waitFor('the task to start', async () => (await registry.get(held!.task.taskId)).status === 'RUNNING');
      pgid = await waitFor('the command to write its group', () => fs.existsSync(pgidFile) && Number(fs.readFileSync(pgidFile, 'utf8')));
      await waitFor('the background sleep to start', () => groupMembers(pgid).length >= 3);
      worker.child.kill('SIGTERM');
      await waitFor('the first signal to be taken', () => worker.stderr().includes('a second signal exits at once'));
      worker.child.kill('SIGTERM');
      expect(await exitWithin(worker)).toBe(143);
      await waitFor('no process of the group to be left', () => groupMembers(pgid).length === 0);
    } finally {
      worker.child.kill('SIGKILL');
      if (pgid) killGroup(pgid);
    }
  });

  it('fails an attempt at its timeout and frees the slot, though a process that left its group holds the output open', async () => {
    const [first, second] = await registry.registerMany([
      { kind: 'escape', maxAttempts: 1 },
      { kind: 'escape', maxAttempts: 1 },
    ]);
    const dir = fs.mkdtempSync(path.join(cwd, 'escape-'));
    // Leaves a process in a session of its own holding the output, and exits once it is out of the group.
    const script = path.join(dir, 'escape.sh');
    fs.writeFileSync(
      script,
      [
        'f="$1/pid.$ORCHESTRA_TASK_ID"',
        `setsid sh -c 'echo $$ > "$0.new"; mv "$0.new" "$0"; exec sleep 1000' "$f" &`,
        'while [ ! -s "$f" ]; do sleep 0.01; done',
      ].join('\n'),
    );
    const worker = spawnCli(['worker', '--exec', `escape=sh ${script} ${dir}`, '--concurrency', '1', '--timeout-ms', '1000'], { env, cwd });
    try {
      const failed = await waitFor('both tasks to fail', async () => {
        const tasks = await registry.getMany([first!.task.taskId, second!.task.taskId]);
        return tasks.every((t) => t.status === 'FAILED') && tasks;
      });
      expect(failed.map((t) => t.error?.code)).toEqual(['ORC_WORKER_COMMAND_TIMEOUT', 'ORC_WORKER_COMMAND_TIMEOUT']);
    } finally {
      worker.child.kill('SIGTERM');
      await exitWithin(worker);
      for (const file of fs.readdirSync(dir).filter((f) => f.startsWith('pid.'))) {
        const pid = Number(fs.readFileSync(path.join(dir, file), 'utf8'));
        // Only the escaped sleep: a pid that is gone may be another process's by now.
        let cmdline = '';
        try {
          cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          // gone
        }
        if (!cmdline.startsWith('sleep')) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  });
});

describe('withCommandTimeouts', () => {
  it('gives a kind whose command may run longer than the run timeout the time its command needs', () => {
    const config = { runTimeoutMs: 60_000, runTimeoutMsByKind: { slow: 600_000 } };
    expect(withCommandTimeouts(config, ['fast', 'slow'], 120_000).runTimeoutMsByKind).toEqual({ fast: 125_000, slow: 600_000 });
    expect(withCommandTimeouts(config, ['fast'], 1_000)).toEqual({ runTimeoutMs: 60_000, runTimeoutMsByKind: { fast: 60_000, slow: 600_000 } });
    expect(withCommandTimeouts(config, ['fast'], undefined)).toBe(config);
  });
});
