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
export { PRESENCE_TOPIC, PRESENCE_ACTION, AGENT_STATES, agentStatusSchema, type AgentState, type AgentStatus } from './presence.js';
export {
  BaseAgent,
  eventTopic,
  type AgentDeps,
  type AgentHandler,
  type SendRequestOptions,
  type SendEventOptions,
  type ContractHandler,
  type ContractRequestOptions,
} from './base-agent.js';
export { WorkerAgent, TASK_FINISHED_TOPIC, TASK_FINISHED_ACTION, type WorkerAgentDeps } from './worker-agent.js';
export { TaskDispatcher, DISPATCHER_ID, type TaskDispatcherDeps } from './dispatcher.js';
export {
  SystemMonitor,
  MONITOR_ID,
  SNAPSHOT_TOPIC,
  SNAPSHOT_ACTION,
  monitorConfig,
  type MonitorOptions,
  type Snapshot,
  type SystemMonitorDeps,
} from './monitor.js';
export { OrchestratorAgent, ORCHESTRATOR_ID, type OrchestratorDeps, type ListedAgent } from './orchestrator.js';
export { fleetConfig, type FleetOptions, type FleetConfig } from './fleet-config.js';
export { nextSuccessRate, botScore, selectBot, restartsInWindow, type Candidate } from './fleet-rules.js';
export {
  TEST_BACKLOG_KIND,
  botKind,
  botIdOfKind,
  testPayloadSchema,
  testResultSchema,
  variableValue,
  type TestPayload,
  type TestOutcome,
} from './test-task.js';
export { BotAgent, BOT_AGENT_ID, BOT_STATUS_TOPIC, type BotAgentDeps } from './bot-agent.js';
export { Bot, type BotDeps, type BotBehaviour } from './bot.js';
export { experimentConfig, type ExperimentOptions, type ExperimentConfig } from './experiment-config.js';
export {
  VariableAgent,
  VARIABLE_AGENT_ID,
  ANALYSIS_AGENT_ID,
  EXPERIMENT_TOPIC,
  type VariableAgentDeps,
  type StudyProgress,
} from './variable-agent.js';
export { readStudyEvidence, minSuccessRateOf, bestCombinationOf, type BestCombination } from './study-evidence.js';
export { StudyDriver, StudyLeaseLostError, type StudyDriverDeps } from './study-driver.js';
export { AnalysisAgent, predictAll, predictionError, type AnalysisAgentDeps, type Prediction } from './analysis-agent.js';
export { CampaignAgent, CAMPAIGN_AGENT_ID, type CampaignAgentDeps } from './campaign-agent.js';
