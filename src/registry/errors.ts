import { OrchestraError, type TaskStatus } from '../protocol/index.js';

export class TaskNotFoundError extends OrchestraError {
  constructor(readonly taskId: string) {
    super('ORC_REGISTRY_TASK_NOT_FOUND', `no task has id ${taskId}`);
  }
}

export class UnknownDependencyError extends OrchestraError {
  constructor(readonly taskId: string, readonly dependsOn: string) {
    super('ORC_REGISTRY_UNKNOWN_DEPENDENCY', `task ${taskId} depends on ${dependsOn}, which does not exist`);
  }
}

export class DependencyCycleError extends OrchestraError {
  constructor(readonly taskIds: string[]) {
    super('ORC_REGISTRY_DEPENDENCY_CYCLE', `the dependencies of ${taskIds.join(', ')} form a cycle`);
  }
}

export class DuplicateTaskIdError extends OrchestraError {
  constructor(readonly taskId: string) {
    super('ORC_REGISTRY_DUPLICATE_TASK_ID', `a task with id ${taskId} already exists`);
  }
}

export class InvalidTransitionError extends OrchestraError {
  constructor(readonly taskId: string, readonly status: TaskStatus, action: string, hint = '') {
    super('ORC_REGISTRY_INVALID_TRANSITION', `cannot ${action} task ${taskId}: it is ${status}${hint ? `; ${hint}` : ''}`);
  }
}

/** A key names one piece of work: reusing it for different work is a mistake, not a repeat to absorb. */
export class IdempotencyConflictError extends OrchestraError {
  constructor(readonly idempotencyKey: string, readonly taskId: string, differs: 'kind' | 'payload') {
    super(
      'ORC_REGISTRY_IDEMPOTENCY_CONFLICT',
      `idempotency key ${idempotencyKey} already names task ${taskId}, which has another ${differs}; use another key for different work`,
    );
  }
}

/** Thrown inside a registration when a concurrent one took an idempotency key first: the registration is run again. */
/** Another registration took an idempotency key between our look-up and our insert: tried again at once. */
export class IdempotencyRace extends OrchestraError {
  constructor() {
    super('ORC_REGISTRY_IDEMPOTENCY_CONFLICT', 'another registration took the same idempotency key at the same moment', true);
  }
}
