import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/test/**/*.test.ts'],
    globalSetup: ['elasticsearch/src/test-cluster.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: more forks than that only make the cluster and the tests fight for CPU.
    poolOptions: { forks: { maxForks: 2 } },
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
