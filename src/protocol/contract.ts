import type { z } from 'zod';
import { OrchestraError } from './errors.js';
import { MAX_NAME_CHARS, NAME_PATTERN, NAME_RULE } from './message-check.js';

/**
 * A request both sides agree on: its action name, the schema of its data,
 * the schema of its reply, and the agent that answers it. The receiver parses
 * the data with `data` before its handler runs and checks the handler's reply
 * with `reply`; the sender checks the reply with `reply` again, so both ends
 * of one request share one signature.
 */
export interface RequestContract<D extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly type: 'request';
  readonly name: string;
  readonly data: D;
  readonly reply: R;
  /** The agent that answers; a sender may name another. */
  readonly to?: string;
}

/** A command: an action with its data schema, and the agent that performs it. No answer comes back. */
export interface CommandContract<D extends z.ZodType = z.ZodType> {
  readonly type: 'command';
  readonly name: string;
  readonly data: D;
  readonly to?: string;
}

/** An event: an action with its data schema, and the topic it is broadcast on (default `events.<name>`). */
export interface EventContract<D extends z.ZodType = z.ZodType> {
  readonly type: 'event';
  readonly name: string;
  readonly data: D;
  readonly topic?: string;
}

export type Contract = RequestContract | CommandContract | EventContract;

/** What a sender passes: the data schema's input. */
export type ContractData<C extends { data: z.ZodType }> = z.input<C['data']>;
/** What a sender gets back: the reply schema's output. */
export type ContractReply<C extends RequestContract> = z.output<C['reply']>;

function checkName(kind: string, name: string): void {
  // Refused here rather than at the first send, where the message envelope would refuse it.
  if (name.length > MAX_NAME_CHARS || !NAME_PATTERN.test(name)) throw new OrchestraError('ORC_CONFIG_INVALID', `${kind} name "${name}": ${NAME_RULE}`);
}

export function defineRequest<D extends z.ZodType, R extends z.ZodType>(contract: {
  name: string;
  data: D;
  reply: R;
  to?: string;
}): RequestContract<D, R> {
  checkName('request', contract.name);
  return Object.freeze({ type: 'request', ...contract });
}

export function defineCommand<D extends z.ZodType>(contract: { name: string; data: D; to?: string }): CommandContract<D> {
  checkName('command', contract.name);
  return Object.freeze({ type: 'command', ...contract });
}

export function defineEvent<D extends z.ZodType>(contract: { name: string; data: D; topic?: string }): EventContract<D> {
  checkName('event', contract.name);
  return Object.freeze({ type: 'event', ...contract });
}

/** The topic of an event whose contract names none. */
export const eventTopic = (action: string) => `events.${action}`;
/** The topic an event is published on. */
export const topicOf = (contract: EventContract): string => contract.topic ?? eventTopic(contract.name);

export const isContract = (value: unknown): value is Contract =>
  typeof value === 'object' && value !== null && 'type' in value && 'name' in value && 'data' in value;
