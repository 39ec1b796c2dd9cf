import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Redis } from 'ioredis';
import { systemClock } from '../../src/protocol/index.js';
import { createRedisBus, redisKeys, INBOX_GROUP, type RedisBus } from '../../src/bus/index.js';
import { BaseAgent, type AgentDeps } from '../../src/agents/index.js';
import { REDIS_URL, uniqueName } from '../support/env.js';
import { echoRequest } from './echo-contract.js';
import { deletePrefix } from '../bus/harness.js';
import { waitFor } from './processes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const REPLICA = path.join(ROOT, 'test/faults/replica-agent.ts');
const REQUESTS = 3_000;
const IN_FLIGHT = 64;

class Client extends BaseAgent {
  constructor(deps: AgentDeps) {
    super('client', 'client', deps);
  }
}

interface Replica {
  child: ChildProcess;
  logFile: string;
  ready: Promise<void>;
}

/** The inbox group's consumers: how many messages each holds unacknowledged, and how long since it last read. */
async function consumers(stream: string): Promise<{ name: string; pending: number; idle: number }[]> {
  const redis = new Redis(REDIS_URL);
  try {
    const rows = (await redis.xinfo('CONSUMERS', stream, INBOX_GROUP)) as (string | number)[][];
    return rows.map((row) => {
      const field = (key: string) => row[row.indexOf(key) + 1];
      return { name: String(field('name')), pending: Number(field('pending')), idle: Number(field('idle')) };
    });
  } finally {
    redis.disconnect();
  }
}

/** Request ids a replica's log says it handled. */
const handled = (replica: Replica): string[] =>
  fs.existsSync(replica.logFile) ? fs.readFileSync(replica.logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ')[0]!) : [];

describe('three processes replicating one agent id on Redis', () => {
  const prefix = uniqueName('replicas');
  const redis = new Redis(REDIS_URL);
  let dir: string;
  let bus: RedisBus;
  let client: Client;
  const replicas: Replica[] = [];

  function startReplica(round: string, delayMs: number): Replica {
    const logFile = path.join(dir, `${round}-${replicas.length}.log`);
    const child = spawn(process.execPath, ['--import', 'tsx', REPLICA], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL, PREFIX: prefix, LOG_FILE: logFile, DELAY_MS: String(delayMs) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`replica exited with ${code} before it was ready`)));
    });
    const replica = { child, logFile, ready };
    replicas.push(replica);
    return replica;
  }

  /** Sends `count` requests, `IN_FLIGHT` at a time; calls `onAnswered` after each answer. */
  async function run(count: number, onAnswered: (answered: number) => void = () => undefined): Promise<Map<number, number>> {
    const answeredBy = new Map<number, number>();
    let next = 0;
    const lane = async () => {
      while (next < count) {
        const n = next++;
        const answer = await client.sendRequest(echoRequest, { n }, { timeoutMs: 30_000 });
        expect(answer.n).toBe(n);
        answeredBy.set(n, answer.pid);
        onAnswered(answeredBy.size);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    return answeredBy;
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-replicas-'));
    bus = await createRedisBus({ url: REDIS_URL, prefix, clock: systemClock, blockMs: 500 });
    client = new Client({ bus, clock: systemClock });
    await client.start();
  });

  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await client.stop();
    await bus.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('share 3,000 requests: each handled exactly once, none lost, every replica taking part', async () => {
    const round = [0, 1, 2].map(() => startReplica('even', 0));
    await Promise.all(round.map((r) => r.ready));
    const answeredBy = await run(REQUESTS);
    expect(answeredBy.size).toBe(REQUESTS);
    const ids = round.flatMap(handled);
    expect(ids).toHaveLength(REQUESTS);
    expect(new Set(ids).size).toBe(REQUESTS);
    for (const r of round) expect(handled(r).length).toBeGreaterThan(0);
    expect(new Set(answeredBy.values()).size).toBe(3);
    for (const r of round) r.child.kill('SIGTERM');
    await Promise.all(round.map((r) => new Promise((resolve) => (r.child.exitCode !== null ? resolve(null) : r.child.once('exit', resolve)))));
  });

  it('lose none when one is killed with SIGKILL mid-run: the others handle what it left unacknowledged', async () => {
    const round = [0, 1, 2].map(() => startReplica('kill', 5));
    await Promise.all(round.map((r) => r.ready));
    const victim = round[0]!;
    const inbox = redisKeys(prefix).inbox('echo');
    let killed = false;
    let atKill: Promise<Map<string, number>> | undefined;
    const answeredBy = await run(REQUESTS, (answered) => {
      if (!killed && answered >= REQUESTS / 3) {
        killed = true;
        victim.child.kill('SIGKILL');
        atKill = consumers(inbox).then((list) => new Map(list.map((c) => [c.name, c.pending])));
      }
    });
    expect(killed).toBe(true);
    expect(answeredBy.size).toBe(REQUESTS);
    const victimPid = victim.child.pid!;
    const survivors = round.slice(1);
    // Every request the victim did not answer was answered by a survivor.
    expect([...answeredBy.values()].filter((pid) => pid !== victimPid).length).toBeGreaterThan(REQUESTS / 2);
    for (const r of survivors) expect(handled(r).length).toBeGreaterThan(0);
    // Handled twice only where the victim handled it and died before acknowledging: at-least-once, no more.
    const victimIds = new Set(handled(victim));
    const survivorIds = survivors.flatMap(handled);
    const counts = new Map<string, number>();
    for (const id of survivorIds) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    const twice = survivorIds.filter((id) => victimIds.has(id));
    expect(twice.length).toBeLessThanOrEqual(100); // at most its maxInFlight
    // The dead consumer is the one that stopped reading; it held messages when it died, and holds none now.
    const heldAtKill = await atKill!;
    // The dead consumer: it held messages when the victim died, and has not read since.
    const dead = await waitFor('the dead consumer to stand out', async () =>
      (await consumers(inbox)).find((c) => c.idle > 3_000 && (heldAtKill.get(c.name) ?? 0) > 0 && c.pending === 0),
    );
    expect(heldAtKill.get(dead.name)).toBeGreaterThan(0);
    const summary = (await redis.xpending(inbox, INBOX_GROUP)) as [number, ...unknown[]];
    expect(Number(summary[0])).toBe(0);
  });
});
