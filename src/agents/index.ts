export { TaskWorker, type TaskWorkerDeps, type WorkerStats, type StopReport } from './task-worker.js';
export { workerConfig, type WorkerOptions, type WorkerConfig } from './worker-config.js';
