import { randomBytes } from 'node:crypto';
import { BaseAgent } from '../agents/index.js';
import { listAgentsRequest, OrchestraError, type ListedAgent } from '../protocol/index.js';
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
}
