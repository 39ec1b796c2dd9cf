import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  agentStatusEvent,
  createMessage,
  createResponse,
  describeError,
  getStatusRequest,
  isContract,
  messageSchema,
  OrchestraError,
  parseWith,
  silentLogger,
  toValidationError,
  topicOf,
  ValidationError,
  type AgentState,
  type AgentStatus,
  type Clock,
  type CommandContract,
  type Contract,
  type ContractData,
  type ContractReply,
  type EventContract,
  type RequestContract,
  type JsonValue,
  type Logger,
  type Message,
  type MessageError,
  type TimerHandle,
} from '../protocol/index.js';
import type { Bus, Subscription } from '../bus/index.js';
import { agentConfig, type AgentConfig, type AgentOptions } from './agent-config.js';

type Kind = 'request' | 'command' | 'event';

/** What a handler is given: its data, parsed by the action's schema, and the whole message. */
export type AgentHandler<S extends z.ZodType, R> = (data: z.output<S>, message: Message) => R | Promise<R>;

interface Route {
  schema: z.ZodType;
  handler: (data: unknown, message: Message) => unknown;
}

export interface AgentDeps {
  bus: Bus;
  clock: Clock;
  logger?: Logger;
  config?: AgentOptions;
  /** Names this process's replica of the agent. Default: a random UUID. */
  instanceId?: string;
  /** Whether it announces itself on the presence topic. Default true; a short-lived tool's client says no. */
  presence?: boolean;
}

export interface SendEventOptions {
  /** Sends the event to this agent's inbox instead of broadcasting it on the contract's topic. */
  to?: string;
}

/** A request sent by its contract: the receiver is the contract's `to` unless these options name another. */
export interface ContractRequestOptions {
  to?: string;
  /** Default: the agent's `requestTimeoutMs`, else the bus's. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A handler declared by a contract: its data parsed by the contract's data schema, its reply checked by the reply schema. */
export type ContractHandler<C extends RequestContract> = (
  data: z.output<C['data']>,
  message: Message,
) => z.input<C['reply']> | Promise<z.input<C['reply']>>;

const agentId = messageSchema.shape.from;

/**
 * An agent: an id, an inbox on the bus, and handlers for the requests,
 * commands and events it understands, each with a schema for its data. It
 * talks to other agents only through messages.
 *
 * Life cycle: `start` subscribes, calls `initialize`, then `run` (which starts
 * any background work and returns); `stop` unsubscribes, waits for handlers
 * in flight, then calls `cleanup`. Replicas (several instances with one id,
 * in one process or many) share the inbox: each request is handled once.
 *
 * A bad message never stops an agent: a request with an unknown action, data
 * that fails its schema or a handler that throws is answered with an error
 * carrying a stable code; a command or event that fails the same way is
 * dead-lettered by the bus with its reason.
 */
export abstract class BaseAgent {
  readonly id: string;
  readonly role: string;
  readonly instanceId: string;
  readonly config: AgentConfig;
  protected readonly bus: Bus;
  protected readonly clock: Clock;
  protected readonly logger: Logger;
  private readonly routes: Record<Kind, Map<string, Route>> = { request: new Map(), command: new Map(), event: new Map() };
  /** Broadcast topics the agent listens to, and the event actions it takes from each. */
  private readonly topics = new Map<string, Set<string>>();
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly counters = { handled: 0, refused: 0, failed: 0 };
  private heartbeat: TimerHandle | undefined;
  private currentState: AgentState = 'new';
  private startedAtMs = 0;
  /** Whether this instance announces itself (see `AgentDeps.presence`). */
  readonly presence: boolean;

  constructor(id: string, role: string, deps: AgentDeps) {
    const valid = agentId.safeParse(id);
    if (!valid.success) throw new OrchestraError('ORC_CONFIG_INVALID', `agent id "${id}": ${valid.error.issues[0]?.message ?? 'invalid'}`);
    this.id = id;
    this.role = role;
    this.instanceId = deps.instanceId ?? randomUUID();
    this.bus = deps.bus;
    this.clock = deps.clock;
    this.config = agentConfig.parse(deps.config ?? {});
    this.logger = (deps.logger ?? silentLogger).child({ agent: id });
    this.presence = deps.presence ?? true;
    this.onRequest(getStatusRequest, () => this.status());
  }

  get state(): AgentState {
    return this.currentState;
  }

  /** What this instance reports about itself, on `get_status` and on the presence topic. */
  status(): AgentStatus {
    return {
      agentId: this.id,
      instanceId: this.instanceId,
      role: this.role,
      state: this.currentState,
      startedAt: this.startedAtMs,
      at: this.clock.now(),
      details: { ...this.counters, ...this.details() },
    };
  }

  async start(): Promise<void> {
    if (this.currentState !== 'new' && this.currentState !== 'stopped') return;
    this.currentState = 'starting';
    this.startedAtMs = this.clock.now();
    try {
      this.subscriptions.push(await this.bus.subscribe({ inbox: this.id }, (m) => this.track(this.receive(m))));
      for (const [topic, actions] of this.topics) {
        this.subscriptions.push(await this.bus.subscribe({ topic }, (m) => this.track(this.receiveBroadcast(m, actions))));
      }
      await this.initialize();
      this.currentState = 'running';
      await this.run();
    } catch (err) {
      this.currentState = 'failed';
      this.logger.error({ err: describeError(err) }, 'agent failed to start');
      await this.unsubscribe();
      throw err;
    }
    await this.announce();
    this.scheduleHeartbeat();
  }

  /** Stops taking messages, lets handlers in flight finish (up to `stopGraceMs`), then cleans up. */
  async stop(): Promise<void> {
    if (this.currentState !== 'running' && this.currentState !== 'failed') return;
    this.currentState = 'stopping';
    if (this.heartbeat) this.clock.clearTimeout(this.heartbeat);
    await this.unsubscribe();
    const grace = new AbortController();
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      this.clock.sleep(this.config.stopGraceMs, grace.signal).catch(() => undefined),
    ]);
    grace.abort();
    try {
      await this.cleanup();
    } finally {
      this.currentState = 'stopped';
      await this.announce();
    }
  }

  /**
   * Sends a request declared by its contract to the contract's agent (or the
   * one `options.to` names) and resolves with the reply, parsed by the
   * contract's reply schema; rejects with the bus's timeout or remote error.
   */
  async sendRequest<C extends RequestContract>(contract: C, data: ContractData<C>, options: ContractRequestOptions = {}): Promise<ContractReply<C>> {
    // Checked here too, so a caller's mistake fails at the call with the field named, not as a remote error.
    const checked = parseWith(declared(contract, 'request').data, `request ${contract.name}`, data) as JsonValue;
    const to = receiver(contract, options.to);
    const request = createMessage({ type: 'request', from: this.id, to, action: contract.name, data: checked }, this.clock.now());
    const timeoutMs = options.timeoutMs ?? this.config.requestTimeoutMs;
    const response = await this.bus.request(request, {
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const parsed = contract.reply.safeParse(response.data);
    if (!parsed.success) throw toValidationError(`response to ${contract.name} from ${to}`, parsed.error, response.data);
    return parsed.data as ContractReply<C>;
  }

  /** Tells one agent to do something; no answer comes back. */
  async sendCommand<C extends CommandContract>(contract: C, data: ContractData<C>, options: { to?: string } = {}): Promise<void> {
    const checked = parseWith(declared(contract, 'command').data, `command ${contract.name}`, data) as JsonValue;
    const command = createMessage({ type: 'command', from: this.id, to: receiver(contract, options.to), action: contract.name, data: checked }, this.clock.now());
    await this.bus.send(command);
  }

  /** Broadcasts an event on its contract's topic (every listener but this agent gets it), or sends it to one agent. */
  async sendEvent<C extends EventContract>(contract: C, data: ContractData<C>, options: SendEventOptions = {}): Promise<void> {
    const checked = parseWith(declared(contract, 'event').data, `event ${contract.name}`, data) as JsonValue;
    const event = createMessage({ type: 'event', from: this.id, to: options.to ?? null, action: contract.name, data: checked }, this.clock.now());
    if (options.to !== undefined) await this.bus.send(event);
    else await this.bus.publish(topicOf(contract), event);
  }

  /** Answers a request: its data parsed by the contract's data schema, its reply checked by the reply schema. */
  protected onRequest<C extends RequestContract>(contract: C, handler: ContractHandler<C>): void {
    this.route('request', contract.name, contract.data, checkedReply(contract, handler as ContractHandler<RequestContract>));
  }

  protected onCommand<C extends CommandContract>(contract: C, handler: AgentHandler<C['data'], void>): void {
    this.route('command', contract.name, contract.data, handler);
  }

  /** Listens to an event broadcast on its contract's topic, and to the same event sent to this agent. */
  protected onEvent<C extends EventContract>(contract: C, handler: AgentHandler<C['data'], void>): void {
    this.route('event', contract.name, contract.data, handler);
    const topic = topicOf(contract);
    const actions = this.topics.get(topic) ?? new Set<string>();
    this.topics.set(topic, actions.add(contract.name));
  }

  /** Called once subscribed, before the agent counts as running: load state from the store here. */
  protected async initialize(): Promise<void> {}
  /** Called once running: start timers and background loops here, and return. */
  protected async run(): Promise<void> {}
  /** Called on stop, after the last handler finished or the grace ran out. */
  protected async cleanup(): Promise<void> {}
  /** Extra fields for `status()`. */
  protected details(): Record<string, JsonValue> {
    return {};
  }

  private route<S extends z.ZodType>(kind: Kind, action: string, schema: S, handler: AgentHandler<S, unknown>): void {
    if (!(schema instanceof z.ZodType)) throw new OrchestraError('ORC_CONFIG_INVALID', `agent ${this.id}: a ${kind} handler is declared by a contract (defineRequest, defineCommand, defineEvent), not by a name`);
    if (this.currentState !== 'new') throw new OrchestraError('ORC_CONFIG_INVALID', `agent ${this.id}: handlers are declared before start`);
    // The schema parses the data before the handler sees it, which makes the cast sound.
    this.routes[kind].set(action, { schema, handler: handler as Route['handler'] });
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  private async receive(message: Message): Promise<void> {
    if (this.logger.isLevelEnabled('trace')) this.logger.trace({ type: message.type, action: message.action, from: message.from }, 'message received');
    switch (message.type) {
      case 'request':
        return this.answer(message);
      case 'command':
        return this.perform('command', message);
      case 'event':
        // An agent never hears its own broadcast, even sent to its own inbox by a replica.
        if (message.from === this.id) return;
        return this.perform('event', message);
      case 'response':
        // Responses go to the requesting process's reply address, never to an inbox.
        throw new OrchestraError('ORC_AGENT_UNKNOWN_ACTION', `agent ${this.id} got a response in its inbox; responses go to reply addresses`);
    }
  }

  private async receiveBroadcast(message: Message, actions: ReadonlySet<string>): Promise<void> {
    if (message.from === this.id) return;
    // A topic may carry events this agent does not listen to: they are for others, not errors.
    if (message.type !== 'event' || !actions.has(message.action)) return;
    await this.perform('event', message);
  }

  /** Runs a command or event handler; a failure is thrown for the bus to dead-letter with its reason. */
  private async perform(kind: 'command' | 'event', message: Message): Promise<void> {
    const route = this.routes[kind].get(message.action);
    if (!route) {
      this.counters.refused++;
      throw this.unknownAction(kind, message.action);
    }
    const data = this.parseData(route, message);
    try {
      await route.handler(data, message);
      this.counters.handled++;
    } catch (err) {
      this.counters.failed++;
      throw err;
    }
  }

  private async answer(request: Message): Promise<void> {
    let body: { data?: JsonValue; error?: MessageError };
    try {
      const route = this.routes.request.get(request.action);
      if (!route) throw this.unknownAction('request', request.action);
      const data = this.parseData(route, request);
      const result = (await route.handler(data, request)) as JsonValue | undefined;
      body = { data: result === undefined ? {} : result };
    } catch (err) {
      body = { error: this.failure(request, err) };
    }
    // Counted before sending: the caller may hold the answer before this send's own acknowledgement returns.
    if (body.error === undefined) this.counters.handled++;
    try {
      await this.bus.send(createResponse(request, this.id, body, this.clock.now()));
    } catch (err) {
      if (!(err instanceof ValidationError) || body.error) throw err;
      // The handler's result cannot travel as JSON: the caller still gets an answer.
      const error = { code: 'ORC_AGENT_HANDLER_FAILED', message: `${request.action} returned data a message cannot carry: ${err.message}` };
      this.counters.handled--;
      this.counters.failed++;
      await this.bus.send(createResponse(request, this.id, { error }, this.clock.now()));
    }
  }

  private parseData(route: Route, message: Message): unknown {
    const parsed = route.schema.safeParse(message.data);
    if (parsed.success) return parsed.data;
    this.counters.refused++;
    const invalid = toValidationError(`${message.type} ${message.action}`, parsed.error, message.data);
    // Paths name the message field, so "data.topic" reads the same as in a refused message.
    throw new ValidationError(
      `${message.type} ${message.action}`,
      invalid.issues.map((i) => ({ ...i, path: i.path === '(root)' ? 'data' : `data.${i.path}` })),
    );
  }

  private failure(request: Message, err: unknown): MessageError {
    const { code, message } = describeError(err);
    if (err instanceof ValidationError || (err instanceof OrchestraError && err.code === 'ORC_AGENT_UNKNOWN_ACTION')) {
      this.logger.warn({ action: request.action, from: request.from, code, reason: message }, 'request refused');
    } else {
      this.counters.failed++;
      this.logger.error({ action: request.action, from: request.from, code, reason: message }, 'request handler failed');
    }
    return { code: code.startsWith('ORC_') ? code : 'ORC_AGENT_HANDLER_FAILED', message: message.slice(0, 10_000) };
  }

  private unknownAction(kind: Kind, action: string): OrchestraError {
    const known = [...this.routes[kind].keys()].sort().join(', ') || 'none';
    return new OrchestraError('ORC_AGENT_UNKNOWN_ACTION', `agent ${this.id} has no ${kind} handler for "${action}" (it handles: ${known})`);
  }

  private async announce(): Promise<void> {
    if (!this.presence) return;
    const status = this.status();
    try {
      await this.sendEvent(agentStatusEvent, status);
    } catch (err) {
      // Presence is advisory: the next heartbeat repeats it.
      this.logger.warn({ err: describeError(err) }, 'presence not announced');
    }
  }

  private scheduleHeartbeat(): void {
    if (!this.presence) return;
    this.heartbeat = this.clock.setTimeout(() => {
      if (this.currentState !== 'running') return;
      void this.announce().finally(() => {
        if (this.currentState === 'running') this.scheduleHeartbeat();
      });
    }, this.config.heartbeatMs);
  }

  private async unsubscribe(): Promise<void> {
    const subscriptions = this.subscriptions.splice(0);
    await Promise.allSettled(subscriptions.map((s) => s.unsubscribe()));
  }
}

/** TypeScript refuses anything but a contract; this is for callers from plain JavaScript. */
function declared<C extends Contract>(contract: C, kind: Kind): C {
  if (!isContract(contract) || contract.type !== kind) {
    throw new OrchestraError('ORC_CONFIG_INVALID', `a ${kind} is sent by its contract (define${kind[0]!.toUpperCase()}${kind.slice(1)}), not by a name`);
  }
  return contract;
}

function receiver(contract: RequestContract | CommandContract, to: string | undefined): string {
  const target = to ?? contract.to;
  if (target === undefined) {
    throw new OrchestraError('ORC_CONFIG_INVALID', `${contract.type} ${contract.name} names no receiver: give its contract a "to", or pass one when sending`);
  }
  return target;
}

/**
 * A reply that breaks its contract is the answering agent's fault: the caller
 * gets ORC_AGENT_HANDLER_FAILED naming the field, instead of a parse error of
 * its own it cannot act on.
 */
function checkedReply(contract: RequestContract, handler: ContractHandler<RequestContract>): AgentHandler<z.ZodType, unknown> {
  return async (data, message) => {
    const reply: unknown = await handler(data, message);
    const body = reply === undefined ? {} : reply;
    const parsed = contract.reply.safeParse(body);
    if (!parsed.success) {
      throw new OrchestraError('ORC_AGENT_HANDLER_FAILED', toValidationError(`reply to ${contract.name}`, parsed.error, body).message);
    }
    return body;
  };
}
