import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 40_000,
    hookTimeout: 30_000,
    // Integration tests start real gateways and redis-servers; 2 cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
    // CI (CI=true) retries a failed test once: integration tests on a loaded 2-core machine have
    // shown a rare, not yet explained server-side close (1006) right after a raw handshake
    // (docs/architecture.md, known issues). Locally nothing is retried, so it stays visible.
    retry: process.env.CI ? 1 : 0,
  },
});
