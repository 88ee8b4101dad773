import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration suites start real processes (redis-server, upstream, gateway);
    // give them room on a 2-core machine without hiding a hang.
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
