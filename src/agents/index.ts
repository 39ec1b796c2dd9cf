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
export { agentConfig, type AgentOptions, type AgentConfig } from './agent-config.js';
export {
  BaseAgent,
  type AgentDeps,
  type AgentHandler,
  type SendEventOptions,
  type ContractHandler,
  type ContractRequestOptions,
} from './base-agent.js';
export { WorkerAgent, type WorkerAgentDeps } from './worker-agent.js';
export { TaskDispatcher, type TaskDispatcherDeps } from './dispatcher.js';
export {
  SystemMonitor,
  monitorConfig,
  type MonitorOptions,
  type SystemMonitorDeps,
} from './monitor.js';
export { OrchestratorAgent, type OrchestratorDeps } from './orchestrator.js';
export { fleetConfig, MAX_TASKS_PER_BOT, type FleetOptions, type FleetConfig } from './fleet-config.js';
export { nextSuccessRate, botScore, selectBot, restartsInWindow, type Candidate } from './fleet-rules.js';
export { BotAgent, botInfo, takeBackTests, type BotAgentDeps } from './bot-agent.js';
export { Bot, type BotDeps, type BotBehaviour } from './bot.js';
export { experimentConfig, type ExperimentOptions, type ExperimentConfig } from './experiment-config.js';
export {
  VariableAgent,
  type VariableAgentDeps,
  type StudyProgress,
} from './variable-agent.js';
export { readStudyEvidence, minSuccessRateOf, bestCombinationOf, bestOf, type StudyBest } from './study-evidence.js';
export { StudyDriver, StudyFailedError, StudyLeaseLostError, type StudyDriverDeps } from './study-driver.js';
export { AnalysisAgent, type AnalysisAgentDeps } from './analysis-agent.js';
export { CampaignAgent, type CampaignAgentDeps } from './campaign-agent.js';
