export type { Db, Queryable, StoreBackend } from './db.js';
export { openPostgres, parseDatabaseUrl, type PostgresOptions } from './postgres.js';
export { openPglite, IN_MEMORY, type PgliteOptions } from './pglite.js';
export { openStore, type OpenedStore } from './open.js';
export { migrate, type MigrationReport } from './migrate.js';
export { MIGRATIONS, type Migration } from './migrations/index.js';
export { storeConfig, type StoreOptions, type StoreConfig } from './config.js';
export * from './errors.js';
export { isAlive as processIsAlive } from './data-dir-lock.js';
export { StoreDeadLetters } from './dead-letters.js';
export { toTask, type TaskRow } from './tasks/row.js';
export { insertTasks, type InsertTaskRow } from './tasks/insert-tasks.js';
export { findTasksByIdempotencyKeys, markDependedOn } from './tasks/registration-lookups.js';
export { claimTasks, runnableKinds, runnableTasks, type ClaimParams, type RunnableTask } from './tasks/claim-tasks.js';
export { completeAndClaimTasks } from './tasks/complete-and-claim.js';
export { completeTasks, type CompletionReport, type ReportOutcome, type CompletionResult } from './tasks/complete-tasks.js';
export { failTasks, type FailureReport, type FailureOutcome } from './tasks/fail-tasks.js';
export { expireLeases, renewLeases, releaseTasks, sweepExpiredLeases, type Lease, type SweptTask } from './tasks/leases.js';
export { cancelTask, type CancelOutcome } from './tasks/cancel-task.js';
export { redriveTask } from './tasks/redrive-task.js';
export {
  failDependents,
  recountDependencies,
  findBrokenDependencies,
  type UnblockedTask,
  type FailedRoot,
} from './tasks/dependents.js';
export {
  getTasks,
  listTasks,
  countTasks,
  countTasksByKind,
  countRecords,
  pruneFinishedTasks,
  getLateReports,
  type ListTasksParams,
  type StatusPriorityCount,
  type LateReportRow,
} from './tasks/read-tasks.js';
export { recordAgent, listAgents, forgetAgents, type AgentRow } from './agents/agents.js';
export { recordAlert, listAlerts, type AlertRow } from './agents/alerts.js';
export { insertToken, useToken, listTokens, revokeToken, revokeBotTokens, hasAdminToken, TOKEN_ROLES, type TokenRole, type TokenRow } from './api/tokens.js';
export { reassignTasks, assignTasks, countUnfinishedByKind, type Reassigned } from './tasks/reassign-tasks.js';
export { countTimedOutAttempts } from './tasks/count-timeouts.js';
export * from './experiments/index.js';
