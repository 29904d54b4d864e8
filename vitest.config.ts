import { defineConfig } from 'vitest/config';

// Tests run the packages from their TypeScript sources (the "source" export condition);
// processes they spawn run the compiled dist/, which the test command builds first.
const conditions = ['source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['*/test/**/*.test.ts', 'common/*/test/**/*.test.ts'],
    globalSetup: ['elasticsearch/src/test-cluster.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: more forks than that only make the cluster and the tests fight for CPU.
    poolOptions: { forks: { maxForks: 2 } },
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
