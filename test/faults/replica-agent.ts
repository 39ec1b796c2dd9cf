/**
 * One replica of the agent `echo`, as its own process, for the replica fault
 * test. Env: REDIS_URL, PREFIX, LOG_FILE (one line per request handled,
 * written before the answer), DELAY_MS (how long each request takes).
 */
import fs from 'node:fs';
import { systemClock } from '../../src/protocol/index.js';
import { createRedisBus } from '../../src/bus/index.js';
import { BaseAgent, type AgentDeps } from '../../src/agents/index.js';
import { echoRequest } from './echo-contract.js';

class Echo extends BaseAgent {
  constructor(deps: AgentDeps, logFile: string, delayMs: number) {
    super('echo', 'echo', deps);
    this.onRequest(echoRequest, async ({ n }, message) => {
      if (delayMs > 0) await systemClock.sleep(delayMs);
      fs.appendFileSync(logFile, `${message.id} ${n}\n`);
      return { n, pid: process.pid };
    });
  }
}

const bus = await createRedisBus({
  url: process.env.REDIS_URL!,
  prefix: process.env.PREFIX!,
  clock: systemClock,
  // A replica that died is noticed within about a second.
  claimIdleMs: 1_000,
  claimIntervalMs: 200,
  blockMs: 500,
});
const agent = new Echo({ bus, clock: systemClock }, process.env.LOG_FILE!, Number(process.env.DELAY_MS ?? 0));
await agent.start();
process.stdout.write(`ready ${process.pid}\n`);
const stop = async () => {
  await agent.stop();
  await bus.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
