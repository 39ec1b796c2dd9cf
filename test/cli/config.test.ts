import { describe, it, expect } from 'vitest';
import { resolveConfig, type ReadFile } from '../../src/cli/config.js';

/** A file system holding only `files`. */
const filesOf =
  (files: Record<string, unknown>): ReadFile =>
  (name) => {
    const content = files[name];
    if (content === undefined) return undefined;
    return typeof content === 'string' ? content : JSON.stringify(content);
  };
const noFiles = filesOf({});

describe('resolveConfig', () => {
  it('uses the defaults of every part when nothing is given', () => {
    const config = resolveConfig({}, {}, noFiles);
    expect(config.store).toMatchObject({ dataDir: './.orchestra', schema: 'orchestra' });
    expect(config.store.databaseUrl).toBeUndefined();
    expect(config.bus.redisUrl).toBeUndefined();
    expect(config.bus).toMatchObject({ prefix: 'orchestra', requestTimeoutMs: 30_000 });
    expect(config.registry).toMatchObject({ leaseMs: 30_000, maxAttempts: 3 });
    expect(config.worker).toMatchObject({ concurrency: 4, pollIntervalMs: 1_000, shutdownGraceMs: 10_000 });
    expect(config.logLevel).toBe('warn');
  });

  it('takes flags over environment over file over defaults, key by key', () => {
    const files = filesOf({
      'orchestra.config.json': { store: { schema: 'from_file', dataDir: '/file' }, bus: { prefix: 'file' }, worker: { concurrency: 2 } },
    });
    const config = resolveConfig(
      { values: { 'store.schema': 'from_flag', 'worker.concurrency': undefined } },
      { ORCHESTRA_SCHEMA: 'from_env', ORCHESTRA_PREFIX: 'env', DATABASE_URL: 'postgres://env/db', REDIS_URL: 'redis://env:6379' },
      files,
    );
    expect(config.store).toMatchObject({ schema: 'from_flag', dataDir: '/file', databaseUrl: 'postgres://env/db' });
    expect(config.bus).toMatchObject({ prefix: 'env', redisUrl: 'redis://env:6379' });
    // An absent flag (undefined) leaves the value below it in place.
    expect(config.worker.concurrency).toBe(2);
  });

  it('reads every documented environment variable', () => {
    const config = resolveConfig(
      {},
      {
        DATABASE_URL: 'postgres://h/db',
        REDIS_URL: 'redis://h:6379',
        ORCHESTRA_DATA_DIR: '/data',
        ORCHESTRA_SCHEMA: 'tenant_a',
        ORCHESTRA_PREFIX: 'tenant-a',
        ORCHESTRA_LOG_LEVEL: 'debug',
      },
      noFiles,
    );
    expect(config).toMatchObject({
      store: { databaseUrl: 'postgres://h/db', dataDir: '/data', schema: 'tenant_a' },
      bus: { redisUrl: 'redis://h:6379', prefix: 'tenant-a' },
      logLevel: 'debug',
    });
  });

  it('takes a cron cadence for the experiments and names what is wrong with a bad one', () => {
    expect(resolveConfig({}, {}, filesOf({ 'orchestra.config.json': { experiment: { cadence: '0 0 * * *' } } })).experiment.cadence).toBe('0 0 * * *');
    expect(() => resolveConfig({}, {}, filesOf({ 'orchestra.config.json': { experiment: { cadence: '0 25 * * *' } } }))).toThrow(
      expect.objectContaining({ code: 'ORC_CONFIG_INVALID', message: expect.stringMatching(/experiment\.cadence .*"0 25 \* \* \*" is not a cron expression/) }),
    );
  });

  it('ignores empty environment variables, as a shell writes an unset one', () => {
    expect(resolveConfig({}, { DATABASE_URL: '', ORCHESTRA_CONFIG: '' }, noFiles).store.databaseUrl).toBeUndefined();
  });

  it('reads the file named by --config, else ORCHESTRA_CONFIG, else orchestra.config.json when it exists', () => {
    const files = filesOf({
      'orchestra.config.json': { registry: { leaseMs: 1000 } },
      'env.json': { registry: { leaseMs: 2000 } },
      'flag.json': { registry: { leaseMs: 3000 } },
    });
    expect(resolveConfig({}, {}, files).registry.leaseMs).toBe(1000);
    expect(resolveConfig({}, { ORCHESTRA_CONFIG: 'env.json' }, files).registry.leaseMs).toBe(2000);
    expect(resolveConfig({ config: 'flag.json' }, { ORCHESTRA_CONFIG: 'env.json' }, files).registry.leaseMs).toBe(3000);
  });

  it('puts a command default under every source the user controls', () => {
    const commandDefaults = { 'registry.backoffBaseMs': 200 };
    expect(resolveConfig({}, {}, noFiles, { commandDefaults }).registry.backoffBaseMs).toBe(200);
    const files = filesOf({ 'orchestra.config.json': { registry: { backoffBaseMs: 5000 } } });
    expect(resolveConfig({}, {}, files, { commandDefaults }).registry.backoffBaseMs).toBe(5000);
  });

  it('refuses settings of different parts that contradict each other', () => {
    const files = filesOf({ 'orchestra.config.json': { registry: { leaseMs: 1000 }, worker: { renewEveryMs: 1000 } } });
    expect(() => resolveConfig({}, {}, files)).toThrow(expect.objectContaining({ code: 'ORC_CONFIG_INVALID', message: expect.stringContaining('renewEveryMs') }));
    expect(resolveConfig({}, {}, filesOf({ 'orchestra.config.json': { registry: { leaseMs: 1000 } } })).registry.leaseMs).toBe(1000);
  });

  it('refuses a named config file that does not exist, saying who named it', () => {
    expect(() => resolveConfig({ config: 'missing.json' }, {}, noFiles)).toThrow(
      expect.objectContaining({ code: 'ORC_CONFIG_INVALID', message: 'config file missing.json (from --config) does not exist' }),
    );
    expect(() => resolveConfig({}, { ORCHESTRA_CONFIG: 'gone.json' }, noFiles)).toThrow(
      expect.objectContaining({ message: 'config file gone.json (from environment variable ORCHESTRA_CONFIG) does not exist' }),
    );
  });

  it('names the key and its source when a value is wrong', () => {
    const fails = (...args: Parameters<typeof resolveConfig>) => {
      try {
        resolveConfig(...args);
      } catch (err) {
        expect(err).toMatchObject({ code: 'ORC_CONFIG_INVALID' });
        expect((err as Error).message).not.toContain('\n');
        return (err as Error).message;
      }
      throw new Error('expected resolveConfig to throw');
    };
    expect(fails({}, { ORCHESTRA_SCHEMA: 'Not Valid' }, noFiles)).toMatch(/^configuration store\.schema from environment variable ORCHESTRA_SCHEMA: /);
    expect(fails({ values: { logLevel: 'loud' }, names: { logLevel: '--log-level' } }, {}, noFiles)).toMatch(
      /^configuration logLevel from flag --log-level: /,
    );
    expect(fails({ config: 'conf.json' }, {}, filesOf({ 'conf.json': { registry: { leaseMs: -5 } } }))).toMatch(
      /^configuration registry\.leaseMs from config file conf\.json: /,
    );
    expect(fails({}, {}, filesOf({ 'orchestra.config.json': { worker: { speed: 11 } } }))).toBe(
      'configuration worker.speed from config file orchestra.config.json: is not a known setting',
    );
    // A valid flag for the same section must not be blamed for the file's unknown key.
    expect(
      fails({ values: { 'worker.concurrency': 3 }, names: { 'worker.concurrency': '--concurrency' } }, {}, filesOf({ 'orchestra.config.json': { worker: { speed: 11 } } })),
    ).toContain('from config file orchestra.config.json');
    expect(fails({}, {}, filesOf({ 'orchestra.config.json': '{oops' }))).toMatch(/^config file orchestra\.config\.json is not JSON: /);
    expect(fails({}, {}, filesOf({ 'orchestra.config.json': '[1]' }))).toBe('config file orchestra.config.json must hold one JSON object');
  });
});
