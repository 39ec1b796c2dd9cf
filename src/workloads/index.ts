export { commandHandler, parseExecSpec, CommandError, DEFAULT_COMMAND_TIMEOUT_MS, type CommandOptions } from './command.js';
export { ProcessGroups, childProcessGroups } from './process-groups.js';
export { directLauncher, processLauncher, ProcessLauncher, type Launcher, type LaunchSpec, type LaunchEvents, type Launched } from './launcher.js';
export * from './research/index.js';
export {
  evaluationInputSchema,
  evaluationOutputSchema,
  evaluationSchema,
  evaluationFromJson,
  failedEvaluation,
  parseEvaluationOutput,
  type Evaluation,
  type EvaluationInput,
  type Evaluator,
  type ParsedEvaluation,
  type SpaceLike,
  type VariableSpecLike,
} from './evaluation.js';
export { commandEvaluator, type CommandEvaluatorOptions } from './command-evaluator.js';
export { lastingFailure } from './lasting-failure.js';
export {
  syntheticEvaluator,
  syntheticLandscape,
  type SyntheticLandscape,
  type SyntheticLandscapeOptions,
  type SyntheticOptions,
} from './synthetic.js';
export { readCompressionSample, DEFAULT_SAMPLE_BYTES, type CompressionSample, type CompressionSampleOptions } from './compression-sample.js';
export {
  COMPRESSION_SPACE,
  DEFAULT_COMPRESSION_DIR,
  DEFAULT_SPEED_WEIGHT,
  compress,
  compressionEvaluator,
  compressionSettings,
  type CompressionEvaluatorOptions,
  type CompressionSettings,
} from './compression.js';
export { testHandler, CAMPAIGN_EVALUATOR } from './test-handler.js';
