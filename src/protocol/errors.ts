/**
 * Every failure Orchestra reports carries a stable code `ORC_<PART>_<WHAT>`.
 * Codes are part of the public surface: scripts match on them, the CLI prints
 * them, and the API will map them to HTTP statuses. Add codes; never rename one.
 */
export const ERROR_CODES = {
  // protocol: one code for every way a value can fail validation
  ORC_PROTOCOL_INVALID_JSON: 'the text is not valid JSON',
  ORC_PROTOCOL_MISSING_FIELD: 'a required field is absent',
  ORC_PROTOCOL_WRONG_TYPE: 'a field has the wrong type',
  ORC_PROTOCOL_OUT_OF_RANGE: 'a number, string or list is outside its allowed size or range',
  ORC_PROTOCOL_INVALID_VALUE: 'a field has a value outside the allowed set or format',
  ORC_PROTOCOL_UNKNOWN_FIELD: 'an object carries a field the schema does not know',
  ORC_PROTOCOL_TOO_LARGE: 'an encoded message or payload exceeds its size limit',
  ORC_PROTOCOL_UNSTORABLE_TEXT: 'a string holds U+0000 or a lone surrogate, which the store cannot keep',
  // bus
  ORC_BUS_REQUEST_TIMEOUT: 'no response arrived within the request timeout',
  ORC_BUS_REMOTE_ERROR: 'the receiver answered a request with an error',
  ORC_BUS_CLOSED: 'the bus was closed',
  ORC_BUS_UNREACHABLE: 'the bus backend cannot be reached',
  ORC_BUS_HANDLER_FAILED: 'a subscriber threw while handling a message',
  ORC_BUS_INBOX_FULL: 'an inbox holds as many undelivered messages as it may; its receiver is down or behind',
  ORC_BUS_MAX_DELIVERIES: 'a message was delivered the most times allowed without being acknowledged',
  // store
  ORC_STORE_BAD_URL: 'DATABASE_URL is not a PostgreSQL connection string',
  ORC_STORE_UNREACHABLE: 'the database cannot be reached',
  ORC_STORE_DATA_DIR_LOCKED: 'another process has the embedded data folder open',
  ORC_STORE_MIGRATION_FAILED: 'a schema migration failed',
  ORC_STORE_SCHEMA_TOO_NEW: 'the database was migrated by a newer Orchestra',
  ORC_STORE_DISK_FULL: 'the database server has no disk space left to write',
  ORC_STORE_OUT_OF_MEMORY: 'the database server ran out of memory',
  ORC_STORE_OUT_OF_RESOURCES: 'the database server ran out of connections or another resource',
  ORC_STORE_LIMIT_EXCEEDED: 'a value or statement exceeds a limit of the database, such as the size of an index row',
  ORC_STORE_UNSTORABLE_VALUE: 'the database refused a value it cannot hold, such as text with U+0000',
  ORC_STORE_DUPLICATE_KEY: 'a row with this key already exists',
  // registry
  ORC_REGISTRY_TASK_NOT_FOUND: 'no task has this id',
  ORC_REGISTRY_UNKNOWN_DEPENDENCY: 'a task depends on a task id that does not exist',
  ORC_REGISTRY_DEPENDENCY_CYCLE: 'the dependencies of a registration form a cycle',
  ORC_REGISTRY_DEPENDENCY_FAILED: 'a dependency failed or was cancelled',
  ORC_REGISTRY_DUPLICATE_TASK_ID: 'a task with this id already exists',
  ORC_REGISTRY_INVALID_TRANSITION: 'the task is not in a state that allows this operation',
  ORC_REGISTRY_LEASE_LOST: 'the attempt no longer holds the lease on the task',
  ORC_REGISTRY_TIMEOUT: 'the lease expired before the attempt reported',
  ORC_REGISTRY_CANCELLED: 'the task was cancelled',
  ORC_REGISTRY_IDEMPOTENCY_CONFLICT: 'an idempotency key already names a task of another kind or payload',
  // worker
  ORC_WORKER_HANDLER_FAILED: 'a task handler threw',
  ORC_WORKER_NO_HANDLER: 'the worker has no handler for this kind',
  ORC_WORKER_COMMAND_EXIT: 'an external command exited with a non-zero status',
  ORC_WORKER_COMMAND_TIMEOUT: 'an external command ran past its timeout',
  ORC_WORKER_COMMAND_BAD_OUTPUT: 'an external command printed something that is not one JSON value',
  ORC_WORKER_SHUTDOWN: 'the worker shut down before the task finished',
  ORC_WORKER_RUN_TIMEOUT: 'a task handler ran past its run timeout and was abandoned',
  // agents
  ORC_AGENT_UNKNOWN_ACTION: 'the agent has no handler for this action and message type',
  ORC_AGENT_HANDLER_FAILED: 'an agent handler threw',
  ORC_AGENT_NOT_RUNNING: 'the agent is not running',
  ORC_AGENT_NOT_FOUND: 'an agent was asked about a study, generation, campaign or bot that does not exist',
  ORC_AGENT_STUDY_FAILED: "a study's generation loop stopped on an error (the database refused a write, say); the study resumes when started again",
  ORC_AGENT_STUDY_LEASE_LOST: 'another process took over driving the study; this one no longer writes its generations',
  // workloads
  ORC_WORKLOAD_SEARCH_FAILED: 'a search provider failed or answered with something unusable',
  ORC_WORKLOAD_SEARCH_UNAUTHORIZED: 'a search provider refused the configured credentials',
  ORC_WORKLOAD_CORPUS_UNREADABLE: 'the folder of documents to search cannot be read',
  ORC_WORKLOAD_NO_SOURCES: 'research found nothing to write a report from',
  // configuration and command line
  ORC_CONFIG_INVALID: 'a configuration value is invalid',
  ORC_CLI_BAD_ARGUMENT: 'a command-line argument is invalid',
  ORC_CLI_TASKS_FAILED: 'tasks a command waited for failed, were cancelled, or did not finish in time',
  ORC_CLI_STUDY_NOT_FOUND: 'the store holds no study with the id a command named',
  ORC_CLI_NO_SUCCESS: 'a run ended without a single successful evaluation',
  ORC_CLI_EVALUATOR_UNUSABLE: 'every evaluation so far failed for one reason that running it again cannot change',
  ORC_CLI_NO_RUNNING_SYSTEM: 'no running system answered a command meant for it',
  ORC_CLI_OUTPUT_UNWRITTEN: 'the result could not be written where --out says; it went to standard output instead',
  ORC_API_UNAUTHORIZED: 'the request carries no bearer token, or one that is unknown, revoked or expired',
  ORC_API_FORBIDDEN: "the token's role may not do this",
  ORC_API_INVALID_REQUEST: 'a parameter, query field or body field of the request is invalid (the field is named)',
  ORC_API_NOT_FOUND: 'no route answers this method and path, or no token has the id given',
  ORC_API_TOO_LARGE: 'the request body is larger than api.bodyLimitBytes',
  ORC_API_INTERNAL: 'the server failed to answer a request for a reason of its own (its log says which)',
  ORC_API_UNAVAILABLE: 'the route needs a part this process does not run (the event stream needs a bus)',
  ORC_API_RATE_LIMITED: 'the token (or address) sent more requests than api.rateLimitPerMinute allows',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class OrchestraError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);

export const isOrchestraError = (err: unknown): err is OrchestraError => err instanceof OrchestraError;

/** Turns anything thrown into a message, without losing an Orchestra code. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof OrchestraError) return { code: err.code, message: err.message };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'ERROR', message: err.message };
  }
  return { code: 'ERROR', message: String(err) };
}
