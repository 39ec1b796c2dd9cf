import { describe, it, expect } from 'vitest';
import { ManualClock, ValidationError } from '../../src/protocol/index.js';
import { busConfig, createMemoryBus } from '../../src/bus/index.js';

describe('busConfig', () => {
  it('fills in every default', () => {
    expect(busConfig.parse({})).toEqual({
      requestTimeoutMs: 30_000,
      claimIdleMs: 30_000,
      claimIntervalMs: 5_000,
      blockMs: 2_000,
      connectTimeoutMs: 10_000,
      readGraceMs: 5_000,
      inboxMaxLen: 100_000,
      topicMaxLen: 10_000,
      maxDeliveries: 5,
      maxMessageBytes: 1024 * 1024,
      maxInFlight: 100,
    });
  });

  it('keeps what is given', () => {
    expect(busConfig.parse({ requestTimeoutMs: 5, maxDeliveries: 1 })).toMatchObject({ requestTimeoutMs: 5, maxDeliveries: 1 });
  });

  it('rejects unknown settings and impossible values', () => {
    expect(busConfig.safeParse({ requestTimeout: 5 }).success).toBe(false);
    expect(busConfig.safeParse({ blockMs: 0 }).success).toBe(false);
    expect(busConfig.safeParse({ maxDeliveries: 0 }).success).toBe(false);
    expect(busConfig.safeParse({ inboxMaxLen: 1.5 }).success).toBe(false);
  });
});

describe('bus options given to a backend', () => {
  it('are refused with a ValidationError naming the setting', () => {
    let err: unknown;
    try {
      createMemoryBus({ clock: new ManualClock(), blockMs: -1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]).toMatchObject({ path: 'blockMs', code: 'ORC_PROTOCOL_OUT_OF_RANGE' });
  });
});
