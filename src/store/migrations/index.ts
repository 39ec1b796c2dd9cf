import type { Migration } from './migration.js';
import { migration as tasks } from './0001_tasks.js';
import { migration as completeTasks } from './0002_complete_tasks.js';
import { migration as agents } from './0003_agents.js';
import { migration as experiments } from './0004_experiments.js';
import { migration as taskTimeouts } from './0005_task_timeouts.js';

export type { Migration } from './migration.js';

/** Every migration, in order. A new one is a new numbered file added here. */
export const MIGRATIONS: readonly Migration[] = [tasks, completeTasks, agents, experiments, taskTimeouts];
