import type { Migration } from './migration.js';
import { migration as tasks } from './0001_tasks.js';
import { migration as completeTasks } from './0002_complete_tasks.js';
import { migration as agents } from './0003_agents.js';
import { migration as experiments } from './0004_experiments.js';
import { migration as taskTimeouts } from './0005_task_timeouts.js';
import { migration as largeSpaces } from './0006_large_spaces.js';
import { migration as studyDriver } from './0007_study_driver.js';
import { migration as botReinstatement } from './0008_bot_reinstatement.js';
import { migration as agentState } from './0009_agent_state.js';
import { migration as apiTokens } from './0010_api_tokens.js';
import { migration as remoteBots } from './0011_remote_bots.js';
import { migration as completeAndClaim } from './0012_complete_and_claim.js';
import { migration as lighterClaimAnswer } from './0013_lighter_claim_answer.js';

export type { Migration } from './migration.js';

/** Every migration, in order. A new one is a new numbered file added here. */
export const MIGRATIONS: readonly Migration[] = [tasks, completeTasks, agents, experiments, taskTimeouts, largeSpaces, studyDriver, botReinstatement, agentState, apiTokens, remoteBots, completeAndClaim, lighterClaimAnswer];
