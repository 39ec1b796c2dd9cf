import { afterAll, beforeAll } from 'vitest';
import type { z } from 'zod';
import type { EventContract, Message, Task, TaskContext } from '../../src/protocol/index.js';
import type { TaskRegistry } from '../../src/registry/index.js';
import { IN_MEMORY, migrate, openPglite, type Db } from '../../src/store/index.js';
import { BaseAgent, type AgentDeps } from '../../src/agents/index.js';

/**
 * One in-memory PGlite store for a test file, opened once (opening is the
 * slow part) and emptied and migrated afresh by `reset` before each test.
 */
export function embeddedStore() {
  let db: Db | undefined;
  beforeAll(async () => {
    db = await openPglite({ dataDir: IN_MEMORY, schema: 'orchestra' });
  });
  afterAll(async () => {
    await db?.close();
  });
  return {
    get db(): Db {
      if (!db) throw new Error('the embedded store is open only inside the tests of the file that asked for it');
      return db;
    },
    /** Drops every table and migrates again, at the clock time `nowMs`. */
    async reset(nowMs: number): Promise<Db> {
      await this.db.query(`DROP SCHEMA IF EXISTS ${this.db.schema} CASCADE`);
      await migrate(this.db, nowMs);
      return this.db;
    },
  };
}

/** Hears the given events, each on its contract's topic, as an operator's tool would, and keeps them in order. */
export class EventRecorder extends BaseAgent {
  readonly events: Message[] = [];
  constructor(deps: AgentDeps, contracts: readonly EventContract[], id = 'recorder') {
    super(id, 'test', deps);
    for (const contract of contracts) this.onEvent(contract, (_data, m) => void this.events.push(m));
  }
  /** The events heard under the contract's name, their data as it declares it. */
  of<C extends EventContract>(contract: C): (Message & { data: z.output<C['data']> })[] {
    // Sound: a name has one contract (test/protocol/contracts.test.ts), whose schema accepted the data before it was kept.
    return this.events.filter((m) => m.action === contract.name) as (Message & { data: z.output<C['data']> })[];
  }
}

/**
 * Waits for real I/O (the database, a child process) to show an effect,
 * checking every few milliseconds; by default for as long as the test may
 * run, or at most `timeoutMs` when given. Time on a
 * `ManualClock` never passes by itself; this only bounds the wait for I/O.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | false | undefined | null> | T | false | undefined | null,
  timeoutMs = Infinity,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface GatedRun {
  task: Task;
  context: TaskContext;
  finish(result?: unknown): void;
  fail(err: unknown): void;
}

/**
 * A handler whose runs the test ends by hand. By default a run rejects with
 * the abort reason when its signal fires, as a well-behaved handler does;
 * `ignoreAbort` makes one that keeps going, as a stubborn one does.
 */
export function gate({ ignoreAbort = false } = {}) {
  const runs: GatedRun[] = [];
  let running = 0;
  let peak = 0;
  const handler = (task: Task, context: TaskContext) => {
    running++;
    peak = Math.max(peak, running);
    return new Promise<never>((resolve, reject) => {
      runs.push({ task, context, finish: (v) => resolve(v as never), fail: reject });
      if (!ignoreAbort) context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true });
    }).finally(() => running--);
  };
  return {
    runs,
    handler,
    /** Handlers running now, and the most that ever ran at once. */
    get running() {
      return running;
    },
    get peak() {
      return peak;
    },
  };
}

/**
 * The registry, except that the named methods throw as a database that is
 * down would, for their first `times` calls (counted together).
 */
export function failingFirst(registry: TaskRegistry, methods: readonly (keyof TaskRegistry)[], times: number) {
  const state = { failures: 0 };
  const proxy = new Proxy(registry, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (!methods.includes(prop as keyof TaskRegistry)) return method.bind(target);
      return async (...args: unknown[]) => {
        if (state.failures < times) {
          state.failures++;
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        }
        return method.apply(target, args);
      };
    },
  });
  return { registry: proxy, state };
}

/** Counts calls of one registry method without changing it. */
export function counting(registry: TaskRegistry, method: keyof TaskRegistry) {
  const state = { calls: 0 };
  const proxy = new Proxy(registry, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = (value as (...args: unknown[]) => unknown).bind(target);
      if (prop !== method) return fn;
      return (...args: unknown[]) => {
        state.calls++;
        return fn(...args);
      };
    },
  });
  return { registry: proxy, state };
}

/**
 * Records every report call the registry gets (through `registry` itself, as
 * a worker makes them) with how many reports it carried, in call order.
 */
export function recordingReports(registry: TaskRegistry): { method: string; reports: number }[] {
  const calls: { method: string; reports: number }[] = [];
  for (const method of ['complete', 'completeMany', 'completeAndClaim', 'fail', 'failMany'] as const) {
    const original = registry[method].bind(registry) as (first: unknown, ...rest: unknown[]) => Promise<unknown>;
    Object.defineProperty(registry, method, {
      configurable: true,
      value: (first: unknown, ...rest: unknown[]) => {
        calls.push({ method, reports: Array.isArray(first) ? first.length : 1 });
        return original(first, ...rest);
      },
    });
  }
  return calls;
}

/**
 * The registry, except that each `claim` answers only when the test lets it
 * (after its query ran), and the most claims ever in flight at once is kept.
 */
export function heldClaims(registry: TaskRegistry) {
  const state = { calls: 0, inFlight: 0, maxInFlight: 0 };
  const waiting: (() => void)[] = [];
  const proxy = new Proxy(registry, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = (value as (...args: unknown[]) => Promise<unknown>).bind(target);
      if (prop !== 'claim') return fn;
      return async (...args: unknown[]) => {
        state.calls++;
        state.inFlight++;
        state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
        try {
          const result = await fn(...args);
          await new Promise<void>((resolve) => waiting.push(resolve));
          return result;
        } finally {
          state.inFlight--;
        }
      };
    },
  });
  return {
    registry: proxy,
    state,
    /** Lets every claim held so far answer. */
    releaseAll: () => {
      for (const resolve of waiting.splice(0)) resolve();
    },
    get held() {
      return waiting.length;
    },
  };
}
