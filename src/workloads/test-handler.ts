import { NonRetryableError, parseWith, testPayloadSchema, type JsonValue, type TaskHandler } from '../protocol/index.js';
import type { Evaluator } from './evaluation.js';

/** The evaluator a campaign's runs use instead of their workload's, when a bot has one (`--campaign-command`, `--exec campaign=`). */
export const CAMPAIGN_EVALUATOR = 'campaign';

/**
 * What a bot runs for a test task: the evaluator of the task's workload with
 * the task's variables and trial. The evaluation is the task's result, failed
 * evaluations included (they are test results, not bot failures); only a
 * payload naming no known workload fails the task.
 */
export function testHandler(evaluators: Readonly<Record<string, Evaluator>>): TaskHandler {
  return async (task, context) => {
    const payload = parseWith(testPayloadSchema, 'test payload', task.payload);
    // A campaign's run goes to the campaign's own command (the production job) when there is one.
    const evaluate = (payload.campaignId !== undefined ? evaluators[CAMPAIGN_EVALUATOR] : undefined) ?? evaluators[payload.workload];
    if (!evaluate) {
      throw new NonRetryableError(`no workload "${payload.workload}" on this bot (it has: ${Object.keys(evaluators).join(', ') || 'none'})`, 'ORC_WORKER_NO_HANDLER');
    }
    const evaluation = await evaluate({ variables: payload.variables, trial: payload.trial }, context.signal);
    return evaluation as unknown as JsonValue;
  };
}
