import type { Queryable } from '../db.js';

/** Who drives a study, and until when unless renewed. */
export interface StudyDriverRow {
  studyId: string;
  /** Unique to one driving agent instance. */
  ownerId: string;
  /** Said to the processes standing by: `process 1234 on host-a`. */
  holder: string;
  pid: number;
  /** The fencing token: one more at every change of holder. */
  epoch: number;
  acquiredAt: number;
  expiresAt: number;
}

interface Row {
  study_id: string;
  owner_id: string;
  holder: string;
  pid: number;
  epoch: string | number;
  acquired_at: Date;
  expires_at: Date;
}

const toDriver = (r: Row): StudyDriverRow => ({
  studyId: r.study_id,
  ownerId: r.owner_id,
  holder: r.holder,
  pid: Number(r.pid),
  epoch: Number(r.epoch),
  acquiredAt: new Date(r.acquired_at).getTime(),
  expiresAt: new Date(r.expires_at).getTime(),
});

export interface DriverClaimParams {
  studyId: string;
  ownerId: string;
  holder: string;
  pid: number;
  nowMs: number;
  leaseMs: number;
  /** Takes the lease of this epoch even before it expires: its holder is known to be gone. */
  seizeEpoch?: number;
}

export type DriverClaim = { acquired: true; driver: StudyDriverRow } | { acquired: false; driver: StudyDriverRow };

/**
 * Params: $1 study, $2 owner, $3 holder, $4 pid, $5 now, $6 expiry, $7 epoch to seize (or null).
 * Takes the lease when nobody holds it, when it expired, or when the caller
 * holds it already (a new epoch all the same); otherwise changes nothing.
 */
const ACQUIRE = `
INSERT INTO study_drivers (study_id, owner_id, holder, pid, epoch, acquired_at, expires_at)
VALUES ($1, $2, $3, $4, 1, $5, $6)
ON CONFLICT (study_id) DO UPDATE
SET owner_id = EXCLUDED.owner_id, holder = EXCLUDED.holder, pid = EXCLUDED.pid, epoch = study_drivers.epoch + 1,
    acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
WHERE study_drivers.expires_at <= EXCLUDED.acquired_at OR study_drivers.owner_id = EXCLUDED.owner_id OR study_drivers.epoch = $7::bigint
RETURNING *`;

const GET = `SELECT * FROM study_drivers WHERE study_id = $1`;

export async function acquireStudyDriver(db: Queryable, p: DriverClaimParams): Promise<DriverClaim> {
  const rows = await db.query<Row>(ACQUIRE, [p.studyId, p.ownerId, p.holder, p.pid, new Date(p.nowMs), new Date(p.nowMs + p.leaseMs), p.seizeEpoch ?? null]);
  if (rows[0]) return { acquired: true, driver: toDriver(rows[0]) };
  const held = await db.query<Row>(GET, [p.studyId]);
  // Released between the two statements: the caller tries again.
  if (!held[0]) return acquireStudyDriver(db, p);
  return { acquired: false, driver: toDriver(held[0]) };
}

export async function getStudyDriver(db: Queryable, studyId: string): Promise<StudyDriverRow | null> {
  const rows = await db.query<Row>(GET, [studyId]);
  return rows[0] ? toDriver(rows[0]) : null;
}

export interface DriverLease {
  studyId: string;
  ownerId: string;
  epoch: number;
}

/** Params: $1 study, $2 owner, $3 epoch, $4 new expiry. False when another took the lease over. */
const RENEW = `UPDATE study_drivers SET expires_at = $4 WHERE study_id = $1 AND owner_id = $2 AND epoch = $3 RETURNING 1`;

export async function renewStudyDriver(db: Queryable, lease: DriverLease, nowMs: number, leaseMs: number): Promise<boolean> {
  return (await db.query(RENEW, [lease.studyId, lease.ownerId, lease.epoch, new Date(nowMs + leaseMs)])).length === 1;
}

/** Params: $1 study, $2 owner, $3 epoch, $4 now. Ends the lease at once, so a process standing by takes over without waiting. */
const RELEASE = `UPDATE study_drivers SET expires_at = $4 WHERE study_id = $1 AND owner_id = $2 AND epoch = $3`;

export async function releaseStudyDriver(db: Queryable, lease: DriverLease, nowMs: number): Promise<void> {
  await db.query(RELEASE, [lease.studyId, lease.ownerId, lease.epoch, new Date(nowMs)]);
}

/**
 * Params: $1 study, $2 owner, $3 epoch.
 * The fence: run first inside the transaction of a write. It locks the lease
 * row, so a takeover waits for the write to commit, and a write that finds
 * another epoch is not made.
 */
const HOLDS = leaseRowLock(1);

/** The fence's statement, its study, owner and epoch the parameters from `$first` on: another statement may carry it as a CTE. */
export function leaseRowLock(first: number): string {
  return `SELECT 1 FROM study_drivers WHERE study_id = $${first} AND owner_id = $${first + 1} AND epoch = $${first + 2} FOR UPDATE`;
}

export async function holdsStudyDriver(tx: Queryable, lease: DriverLease): Promise<boolean> {
  return (await tx.query(HOLDS, [lease.studyId, lease.ownerId, lease.epoch])).length === 1;
}
