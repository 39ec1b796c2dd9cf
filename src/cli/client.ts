import { randomBytes } from 'node:crypto';
import { BaseAgent } from '../agents/index.js';
import {
  getStatusRequest,
  listAgentsRequest,
  OrchestraError,
  stopTestCommand,
  triggerTestRequest,
  VARIABLE_AGENT_ID,
  type AgentStatus,
  type ContractReply,
  type ListedAgent,
} from '../protocol/index.js';
import { RequestTimeoutError, type Bus } from '../bus/index.js';
import type { Runtime } from './runtime.js';

/**
 * How a command talks to the agents of a running system: as an agent of its
 * own with a one-off id, which does not announce itself, since it is gone
 * as soon as the command ends.
 */
export class CliClient extends BaseAgent {
  constructor(runtime: Runtime & { bus: Bus }) {
    super(`cli.${randomBytes(4).toString('hex')}`, 'cli', { bus: runtime.bus, clock: runtime.clock, logger: runtime.logger, presence: false });
  }

  /** The orchestrator's directory of agents; a clear error when no orchestrator answers. */
  async listAgents(timeoutMs: number): Promise<ListedAgent[]> {
    try {
      return (await this.sendRequest(listAgentsRequest, {}, { timeoutMs })).agents;
    } catch (err) {
      if (!(err instanceof RequestTimeoutError)) throw err;
      throw new OrchestraError(
        'ORC_BUS_REQUEST_TIMEOUT',
        `no orchestrator answered within ${timeoutMs} ms: is \`orchestra serve\` or \`orchestra start\` running on this REDIS_URL and prefix?`,
        true,
      );
    }
  }

  /** The running variable agent's status (its study is in the details), or undefined when none answers in time. */
  async variableAgent(timeoutMs: number): Promise<AgentStatus | undefined> {
    try {
      return await this.sendRequest(getStatusRequest, {}, { to: VARIABLE_AGENT_ID, timeoutMs });
    } catch (err) {
      if (err instanceof RequestTimeoutError) return undefined;
      throw err;
    }
  }

  async triggerTest(timeoutMs: number): Promise<ContractReply<typeof triggerTestRequest>> {
    return this.sendRequest(triggerTestRequest, {}, { timeoutMs });
  }

  async stopTest(reason: string | undefined): Promise<void> {
    await this.sendCommand(stopTestCommand, reason === undefined ? {} : { reason });
  }
}
