import { describe, it, expect } from 'vitest';
import { resolveConfig } from '../../src/cli/config.js';

describe('configuration', () => {
  it('uses the defaults of every part when nothing is given', () => {
    const config = resolveConfig({ flags: {}, env: {} });
    expect(config.store).toMatchObject({ dataDir: './.orchestra', schema: 'orchestra' });
    expect(config.store.databaseUrl).toBeUndefined();
    expect(config.bus).toMatchObject({ prefix: 'orchestra', requestTimeoutMs: 30_000 });
    expect(config.registry).toMatchObject({ leaseMs: 30_000, maxAttempts: 3 });
    expect(config.worker).toMatchObject({ concurrency: 4, pollIntervalMs: 1_000 });
    expect(config.logLevel).toBe('warn');
  });

  it('takes flags over environment over file', () => {
    const file = { name: 'orchestra.config.json', text: JSON.stringify({ store: { schema: 'from_file', dataDir: '/file' }, worker: { concurrency: 2 } }) };
    const config = resolveConfig({
      file,
      env: { ORCHESTRA_SCHEMA: 'from_env', DATABASE_URL: 'postgres://env/db' },
      flags: { 'store.schema': 'from_flag' },
    });
    expect(config.store).toMatchObject({ schema: 'from_flag', dataDir: '/file', databaseUrl: 'postgres://env/db' });
    expect(config.worker.concurrency).toBe(2);
  });

  it('ignores empty environment variables', () => {
    expect(resolveConfig({ flags: {}, env: { DATABASE_URL: '' } }).store.databaseUrl).toBeUndefined();
  });

  it('names the key and its source when a value is wrong', () => {
    expect(() => resolveConfig({ flags: {}, env: { ORCHESTRA_SCHEMA: 'Not Valid' } })).toThrow(
      expect.objectContaining({ code: 'ORC_CONFIG_INVALID', message: expect.stringContaining('store.schema from environment variable ORCHESTRA_SCHEMA') }),
    );
    const file = { name: 'conf.json', text: JSON.stringify({ registry: { leaseMs: -5 } }) };
    expect(() => resolveConfig({ flags: {}, env: {}, file })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('registry.leaseMs from config file conf.json') }),
    );
    const unknown = { name: 'conf.json', text: JSON.stringify({ worker: { speed: 11 } }) };
    expect(() => resolveConfig({ flags: {}, env: {}, file: unknown })).toThrow(expect.objectContaining({ code: 'ORC_CONFIG_INVALID' }));
    expect(() => resolveConfig({ flags: {}, env: {}, file: { name: 'x.json', text: '{oops' } })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('x.json is not JSON') }),
    );
  });
});
