import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Backends are real services; give connection set-up room, never wait on timers.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most files spend their time waiting on child processes and services, not on a core:
    // three at a time on a 2-core machine finishes sooner than the default of one.
    maxWorkers: 3,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
