import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from 'vitest';
import { ManualClock, silentLogger } from '../../src/protocol/index.js';
import {
  acquireStudyDriver,
  createStudy,
  getStudy,
  getStudyDriver,
  holdsStudyDriver,
  listResults,
  IN_MEMORY,
  migrate,
  openPglite,
  openPostgres,
  renewStudyDriver,
  setStudyState,
  type Db,
  type StudyDriverRow,
  type TestResultRow,
} from '../../src/store/index.js';
import { StudyDriver, StudyLeaseLostError } from '../../src/agents/index.js';
import { DATABASE_URL, uniqueName } from '../support/env.js';

const START_MS = Date.UTC(2026, 0, 1);
const LEASE_MS = 10_000;

const backends: [string, () => Promise<Db>][] = [
  ['PGlite', () => openPglite({ dataDir: IN_MEMORY, schema: 'orchestra' })],
  ['PostgreSQL', () => openPostgres({ url: DATABASE_URL, schema: uniqueName('driver'), poolSize: 4 })],
];

/** Waits for real I/O (the database) to show an effect; time on the ManualClock never passes by itself. */
async function until<T>(_what: string, check: () => Promise<T | false | undefined> | T | false | undefined): Promise<T> {
  // Bounded by the test's own limit, never by a shorter clock of its own.
  for (;;) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.each(backends)('the lease on driving a study, on %s', (backend, open) => {
  let db: Db;
  let clock: ManualClock;
  const stops: AbortController[] = [];

  // Opened once per backend (opening PGlite is the slow part), emptied before each test.
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await db.close();
  });
  beforeEach(async () => {
    clock = new ManualClock(START_MS);
    await db.query(`DROP SCHEMA IF EXISTS ${db.schema} CASCADE`);
    await migrate(db, clock.now());
    await createStudy(db, 's', {}, {}, clock.now());
  });
  afterEach(() => {
    for (const stop of stops.splice(0)) stop.abort();
  });

  const claim = (ownerId: string, extra: { seizeEpoch?: number; pid?: number } = {}) =>
    acquireStudyDriver(db, { studyId: 's', ownerId, holder: `holder ${ownerId}`, pid: extra.pid ?? process.pid, nowMs: clock.now(), leaseMs: LEASE_MS, ...extra });

  function driver(ownerId: string): StudyDriver {
    return new StudyDriver({ db, clock, logger: silentLogger, studyId: 's', ownerId, holder: `holder ${ownerId}`, leaseMs: LEASE_MS, pollMs: 1_000 });
  }

  function stopper(): AbortSignal {
    const stop = new AbortController();
    stops.push(stop);
    return stop.signal;
  }

  it('gives the lease to one owner; another is told who holds it and until when', async () => {
    expect(await claim('a')).toMatchObject({ acquired: true, driver: { ownerId: 'a', epoch: 1, expiresAt: START_MS + LEASE_MS } });
    expect(await claim('b')).toEqual({
      acquired: false,
      driver: { studyId: 's', ownerId: 'a', holder: 'holder a', pid: process.pid, epoch: 1, acquiredAt: START_MS, expiresAt: START_MS + LEASE_MS },
    });
    // The holder asking again keeps it, with a new epoch.
    expect(await claim('a')).toMatchObject({ acquired: true, driver: { ownerId: 'a', epoch: 2 } });
  });

  it('renews only while held: after its expiry another takes over with the next epoch, and the old holder is refused', async () => {
    await claim('a');
    await clock.advance(LEASE_MS - 1);
    expect(await renewStudyDriver(db, { studyId: 's', ownerId: 'a', epoch: 1 }, clock.now(), LEASE_MS)).toBe(true);
    await clock.advance(LEASE_MS - 1);
    expect(await claim('b')).toMatchObject({ acquired: false });
    await clock.advance(1);
    expect(await claim('b')).toMatchObject({ acquired: true, driver: { ownerId: 'b', epoch: 2 } });
    expect(await renewStudyDriver(db, { studyId: 's', ownerId: 'a', epoch: 1 }, clock.now(), LEASE_MS)).toBe(false);
    expect(await db.transaction((tx) => holdsStudyDriver(tx, { studyId: 's', ownerId: 'a', epoch: 1 }))).toBe(false);
    expect(await db.transaction((tx) => holdsStudyDriver(tx, { studyId: 's', ownerId: 'b', epoch: 2 }))).toBe(true);
  });

  it('keeps a standby waiting while the driver renews, and lets it take over once the driver stops renewing', async () => {
    const a = driver('a');
    expect(await a.acquire(stopper())).toBe(true);
    const b = driver('b');
    const heard: StudyDriverRow[] = [];
    let drives = false;
    void b.acquire(stopper(), (holder) => heard.push(holder)).then((v) => (drives = v), () => undefined);
    await until('b standing by', () => heard.length === 1);
    expect(heard[0]).toMatchObject({ ownerId: 'a', holder: 'holder a', epoch: 1 });
    // Three leases long: a renews every third of one, so b never gets it. Each step
    // waits until both are at rest (a's renewal timer and b's poll timer set again, so
    // no renewal is still on its way to the database) before moving time on: a renewal
    // that landed after the next step would be scheduled from that later time.
    const atRest = () => clock.pendingTimers === 2;
    for (let i = 0; i < 30; i++) {
      await clock.advance(1_000);
      await until('a and b at rest', atRest);
      // Renewed at most a third of a lease plus one step ago.
      expect((await getStudyDriver(db, 's'))!.expiresAt).toBeGreaterThan(clock.now() + LEASE_MS - LEASE_MS / 3 - 1_000);
    }
    expect(drives).toBe(false);
    expect(a.lost).toBe(false);

    // a dies without a word: its renewals stop, the lease runs out, b takes over.
    await a.release();
    await db.query(`UPDATE study_drivers SET expires_at = $1`, [new Date(clock.now() + LEASE_MS)]);
    await until('b driving', async () => {
      await clock.advance(500);
      return drives;
    });
    expect(clock.now()).toBeGreaterThanOrEqual(START_MS + 30_000 + LEASE_MS);
    expect(await getStudyDriver(db, 's')).toMatchObject({ ownerId: 'b', epoch: 2 });
    expect(heard).toHaveLength(1);
  });

  it('refuses a fenced write once another took over, and makes none of it; the new holder writes', async () => {
    const a = driver('a');
    expect(await a.acquire(stopper())).toBe(true);
    await a.fenced((tx) => setStudyState(tx, 's', 'written by a', clock.now()));
    expect((await getStudy(db, 's'))!.state).toBe('written by a');

    // a was paused past its lease and b took over: a's next write is refused, whole.
    await claim('b', { seizeEpoch: 1 });
    const refused = await a
      .fenced(async (tx) => {
        await setStudyState(tx, 's', 'late write by a', clock.now());
      })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StudyLeaseLostError);
    expect(refused).toMatchObject({ code: 'ORC_AGENT_STUDY_LEASE_LOST' });
    expect(a.lost).toBe(true);
    expect((await getStudy(db, 's'))!.state).toBe('written by a');
    // Its release leaves b's lease alone.
    await a.release();
    expect(await getStudyDriver(db, 's')).toMatchObject({ ownerId: 'b', epoch: 2, expiresAt: START_MS + LEASE_MS });
  });

  it('records results behind the fence in one statement: once each, and none once another took over', async () => {
    const result = (taskId: string, value: number): TestResultRow => ({ taskId, studyId: 's', key: 'k', generation: 0, trial: Number(taskId.slice(1)), success: true, value, metrics: { size: 3 }, reason: null, botId: 'b1', at: clock.now() });
    const a = driver('a');
    expect(await a.acquire(stopper())).toBe(true);
    expect(await a.recordResults([result('t0', 1), result('t1', 2)])).toEqual(['t0', 't1']);
    // Collected again (a restart, a repeated event): what is there is not recorded twice.
    expect(await a.recordResults([result('t1', 9), result('t2', 3)])).toEqual(['t2']);
    expect((await listResults(db, 's')).map((r) => [r.taskId, r.value, r.metrics])).toEqual([
      ['t0', 1, { size: 3 }],
      ['t1', 2, { size: 3 }],
      ['t2', 3, { size: 3 }],
    ]);

    await claim('b', { seizeEpoch: 1 });
    const refused = await a.recordResults([result('t3', 4)]).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StudyLeaseLostError);
    expect(a.lost).toBe(true);
    expect((await listResults(db, 's')).map((r) => r.taskId)).toEqual(['t0', 't1', 't2']);
  });

  it('hands the lease on at once when the driver releases it', async () => {
    const a = driver('a');
    expect(await a.acquire(stopper())).toBe(true);
    const b = driver('b');
    let drives = false;
    void b.acquire(stopper()).then((v) => (drives = v), () => undefined);
    await until('b standing by', async () => (await getStudyDriver(db, 's'))?.ownerId === 'a');
    await a.release();
    await until('b driving', async () => {
      await clock.advance(100);
      return drives;
    });
    // Within its poll interval, not at the end of a's lease.
    expect(clock.now()).toBeLessThan(START_MS + LEASE_MS);
    expect(await getStudyDriver(db, 's')).toMatchObject({ ownerId: 'b', epoch: 2 });
  });

  it.runIf(backend === 'PGlite')('takes over at once a lease left in the embedded store by another process, which must be gone', async () => {
    await claim('gone', { pid: process.pid + 100_000 });
    const b = driver('b');
    expect(await b.acquire(stopper())).toBe(true);
    expect(await getStudyDriver(db, 's')).toMatchObject({ ownerId: 'b', epoch: 2 });
  });
});
