import { randomBytes } from 'node:crypto';
import { BaseAgent } from '../agents/index.js';
import { RequestTimeoutError, type Bus } from '../bus/index.js';
import { getStatusRequest, OrchestraError, type AgentStatus, type Clock, type Logger } from '../protocol/index.js';
import { ApiError } from './errors.js';

/**
 * How the API reaches the agents of the running system: an agent of its own
 * on the bus, which does not announce itself. Before a command is sent, the
 * agent that would carry it out is asked whether it runs: a command left in
 * the inbox of an agent that is not running would act whenever one next starts.
 */
export class OperatorAgent extends BaseAgent {
  constructor(
    deps: { bus: Bus; clock: Clock; logger: Logger },
    private readonly answerTimeoutMs: number,
  ) {
    super(`api.${randomBytes(4).toString('hex')}`, 'api', { ...deps, presence: false });
  }

  get timeoutMs(): number {
    return this.answerTimeoutMs;
  }

  /** The status of the agent `agentId`, or undefined when none answers in time. */
  async statusOf(agentId: string): Promise<AgentStatus | undefined> {
    try {
      return await this.sendRequest(getStatusRequest, {}, { to: agentId, timeoutMs: this.answerTimeoutMs });
    } catch (err) {
      if (err instanceof RequestTimeoutError) return undefined;
      throw err;
    }
  }

  /** The status of `agentId`; 503 naming it when it does not answer. */
  async running(agentId: string, action: string): Promise<AgentStatus> {
    const status = await this.statusOf(agentId);
    if (!status) throw new ApiError(503, 'ORC_API_UNAVAILABLE', `no ${agentId} agent answered within ${this.answerTimeoutMs} ms: ${action} was not sent (is the system running?)`);
    return status;
  }
}

/** 503 for a route that needs the bus in a process without one. */
export function needsBus(operator: OperatorAgent | undefined, what: string): OperatorAgent {
  if (!operator) throw new OrchestraError('ORC_API_UNAVAILABLE', `this process has no bus, so ${what} cannot reach the agents; ask a process that runs them (orchestra serve or start)`);
  return operator;
}
