import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as protocol from '../../src/protocol/index.js';
import { isContract, type Contract, type EventContract } from '../../src/protocol/index.js';

/** Every contract the runtime declares: what crosses the bus between its agents. */
const contracts: Contract[] = Object.values(protocol as Record<string, unknown>).filter(isContract);
const topicOf = (c: EventContract) => c.topic ?? `events.${c.name}`;

describe('the runtime’s contracts', () => {
  it('declares every message its agents exchange', () => {
    const names = (type: Contract['type']) => contracts.filter((c) => c.type === type).map((c) => c.name).sort();
    expect(names('request')).toEqual(
      [
        'get_status', 'list_agents', 'get_system_status',
        'dispatch', 'get_snapshot',
        'register_bot', 'deregister_bot', 'create_test_task', 'assign_campaign_task', 'get_available_bot_count', 'get_bot_status',
        'get_best_combination', 'get_generation_stats', 'trigger_test', 'analyze_generation', 'get_report',
        'start_campaign', 'get_campaign_status', 'list_campaigns',
      ].sort(),
    );
    expect(names('command')).toEqual(['heartbeat', 'restart_bot', 'isolate_bot', 'reinstate_bot', 'restart', 'stop', 'resume', 'stop_test', 'stop_campaign'].sort());
    expect(names('event')).toEqual(
      [
        'agent_status', 'system_snapshot', 'tasks_finished', 'task_cancelled', 'bot_status_update', 'task_completed', 'bot_isolated',
        'new_generation_created', 'generation_scored', 'study_finished', 'environment_change_detected', 'campaign_progress', 'campaign_finished',
      ].sort(),
    );
  });

  it('gives each name one declaration per type', () => {
    for (const type of ['request', 'command', 'event'] as const) {
      const names = contracts.filter((c) => c.type === type).map((c) => c.name);
      expect(names.filter((n, i) => names.indexOf(n) !== i), `${type}s declared twice`).toEqual([]);
    }
  });

  it('gives an event name exactly one data schema and one topic', () => {
    const events = contracts.filter((c): c is EventContract => c.type === 'event');
    const byName = new Map<string, EventContract[]>();
    for (const e of events) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
    for (const [name, declared] of byName) {
      expect(new Set(declared.map((e) => e.data)).size, name).toBe(1);
      expect(new Set(declared.map(topicOf)).size, name).toBe(1);
    }
  });

  it('has a schema for the data of every message and for the reply of every request', () => {
    for (const c of contracts) {
      expect(c.data, c.name).toBeInstanceOf(z.ZodType);
      if (c.type === 'request') expect(c.reply, c.name).toBeInstanceOf(z.ZodType);
    }
  });

  it('names the agent that answers every request and performs every command, except those any agent (or any bot) handles', () => {
    const anyone = new Set(['get_status', 'restart', 'stop', 'resume']);
    for (const c of contracts) {
      if (c.type === 'event') continue;
      if (anyone.has(c.name)) expect(c.to, c.name).toBeUndefined();
      else expect(c.to, c.name).toMatch(/^[a-z]+$/);
    }
  });

  it('shares one schema for a combination’s variables, a test’s outcome and a study’s identity', () => {
    expect(protocol.testPayloadSchema.shape.variables).toBe(protocol.variablesSchema);
    expect(protocol.bestCombinationSchema.shape.variables).toBe(protocol.variablesSchema);
    expect(protocol.campaignSchema.shape.variables).toBe(protocol.variablesSchema);
    expect(protocol.testPayloadSchema.shape.studyId).toBe(protocol.studyIdSchema);
    expect(protocol.testResultSchema.shape.value).toBe(protocol.testOutcomeSchema.shape.value);
    expect(protocol.variablesSchema.safeParse({ level: 6, algorithm: 'gzip', fast: true }).success).toBe(true);
    expect(protocol.variablesSchema.safeParse({ level: [6] }).success).toBe(false);
  });
});
