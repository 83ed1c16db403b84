import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 40_000,
    hookTimeout: 30_000,
    // Integration tests start real gateways and redis-servers; 2 cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
