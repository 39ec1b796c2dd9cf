/**
 * Orchestra's public surface: what a program imports to write an agent, a
 * worker handler or a study. Everything not exported here is internal and
 * may change without notice. The pure parts are also published on their own
 * (`<package>/protocol`, `<package>/evolution`) for programs that want no
 * database or Redis driver loaded.
 */
export { createOrchestra, type Orchestra, type OrchestraOptions, type OrchestraBusOptions } from './orchestra.js';

// protocol: messages, tasks, contracts, errors, time and randomness
export {
  ERROR_CODES,
  OrchestraError,
  ValidationError,
  NonRetryableError,
  isOrchestraError,
  describeError,
  defineRequest,
  defineCommand,
  defineEvent,
  systemClock,
  ManualClock,
  createRng,
  createLogger,
  silentLogger,
  TASK_STATUSES,
  type ErrorCode,
  type ValidationIssue,
  type RequestContract,
  type CommandContract,
  type EventContract,
  type Contract,
  type ContractData,
  type ContractReply,
  type Message,
  type MessageType,
  type Task,
  type TaskStatus,
  type TaskError,
  type NewTask,
  type TaskHandler,
  type TaskContext,
  type JsonValue,
  type Clock,
  type Rng,
  type Logger,
} from './protocol/index.js';

// the runtime's own contracts, for a program's agents to talk to the built-in ones
export {
  DISPATCHER_ID,
  MONITOR_ID,
  ORCHESTRATOR_ID,
  SNAPSHOT_TOPIC,
  TASK_FINISHED_TOPIC,
  PRESENCE_TOPIC,
  getStatusRequest,
  agentStatusEvent,
  listAgentsRequest,
  getSystemStatusRequest,
  dispatchRequest,
  getSnapshotRequest,
  systemSnapshotEvent,
  tasksFinishedEvent,
  finishedTaskSchema,
  MAX_FINISHED_PER_EVENT,
  type FinishedTask,
  type AgentStatus,
  type ListedAgent,
  type Snapshot,
} from './protocol/index.js';

// bus
export {
  createBus,
  createMemoryBus,
  createRedisBus,
  MemoryBroker,
  RequestTimeoutError,
  RemoteError,
  BusClosedError,
  InboxFullError,
  BusUnreachableError,
  type Bus,
  type BusOptions,
  type CreateBusOptions,
  type MessageHandler,
  type Subscription,
  type SubscriptionTarget,
  type RequestOptions,
} from './bus/index.js';

// store
export { IN_MEMORY, type Db, type StoreOptions, type MigrationReport } from './store/index.js';

// registry
export {
  TaskRegistry,
  TaskNotFoundError,
  type Registration,
  type RegistryOptions,
  type TaskFilter,
  type TaskCounts,
} from './registry/index.js';

// agents and workers
export {
  BaseAgent,
  TaskWorker,
  WorkerAgent,
  TaskDispatcher,
  SystemMonitor,
  OrchestratorAgent,
  type AgentDeps,
  type AgentHandler,
  type AgentOptions,
  type ContractHandler,
  type ContractRequestOptions,
  type SendEventOptions,
  type TaskWorkerDeps,
  type TaskWorkerEvents,
  type WorkerOptions,
  type WorkerStats,
  type StopReport,
  type WorkerAgentDeps,
  type TaskDispatcherDeps,
} from './agents/index.js';

// evolution: the optimizer's pure functions
export {
  parseSpace,
  combinationKey,
  initialPopulation,
  proposeGeneration,
  scoreCombinations,
  classify,
  retestCandidates,
  recommend,
  detectDrift,
  type Space,
  type Variable,
  type Combination,
  type Observation,
  type Scored,
  type Classification,
  type ProposeOptions,
  type RecommendOptions,
} from './evolution/index.js';

// workloads: handlers for external commands and the evaluator format
export { commandHandler, type CommandOptions, type Evaluation, type EvaluationInput, type Evaluator } from './workloads/index.js';
