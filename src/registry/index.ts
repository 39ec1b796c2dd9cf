export {
  TaskRegistry,
  type ClaimRequest,
  type Completion,
  type Failure,
  type Outcome,
  type TaskFilter,
  type TaskPage,
  TASK_CURSOR,
  type TaskCounts,
  type SweepReport,
  type TaskRegistryDeps,
} from './registry.js';
export type { Registration } from './registration.js';
export { registryConfig, type RegistryOptions, type RegistryConfig } from './config.js';
export { retryDelayMs } from './backoff.js';
export {
  TaskNotFoundError,
  UnknownDependencyError,
  DependencyCycleError,
  DuplicateTaskIdError,
  InvalidTransitionError,
  IdempotencyConflictError,
} from './errors.js';
export type { Lease } from '../store/index.js';
