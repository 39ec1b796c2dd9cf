import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Backends are real services and many tests run the command line as a process: on a loaded
    // machine a test may take long; none waits on a timer of its own, so this bounds only a hang.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most files spend their time waiting on child processes and services, not on a core:
    // three at a time on a 2-core machine finishes sooner than the default of one.
    maxWorkers: 3,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
