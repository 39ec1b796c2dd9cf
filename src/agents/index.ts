export { TaskWorker, type TaskWorkerDeps } from './task-worker.js';
export type { TaskWorkerEvents, WorkerStats, StopReport } from './worker-events.js';
export {
  workerConfig,
  resolveWorkerConfig,
  type WorkerOptions,
  type WorkerConfig,
  type ResolvedWorkerConfig,
} from './worker-config.js';
export { toTaskFailure, checkResult, type TaskFailure } from './task-failure.js';
export { sendWithRetries, reportDelayMs, type ReportRetryPolicy } from './report-retry.js';
