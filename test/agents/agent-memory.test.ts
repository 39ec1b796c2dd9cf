import { agentContract } from '../contract/agent.contract.js';
import { memoryHarness } from '../bus/harness.js';

agentContract('memory', memoryHarness);
