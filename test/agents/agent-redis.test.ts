import { agentContract } from '../contract/agent.contract.js';
import { redisHarness } from '../bus/harness.js';

agentContract('redis', redisHarness);
