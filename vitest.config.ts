import { defineConfig } from 'vitest/config';

// Tests run the packages from their TypeScript sources (the "source" export condition);
// processes they spawn run the compiled dist/, which the test command builds first.
const conditions = ['source', 'node', 'import', 'module', 'default'];
const testFolders = ['*/test/**/', 'common/*/test/**/'];
const INTEGRATION = '*.int.test.ts';

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        // Pure logic, schemas, rendering, parsers, statistics, in-process servers: nothing to start.
        extends: true,
        test: {
          name: 'unit',
          include: testFolders.map((f) => `${f}*.test.ts`),
          exclude: testFolders.map((f) => `${f}${INTEGRATION}`),
        },
      },
      {
        // Real Elasticsearch (one cluster for the run, see test-cluster.ts), nginx, replica processes, whole stacks.
        extends: true,
        test: {
          name: 'integration',
          include: testFolders.map((f) => `${f}${INTEGRATION}`),
          globalSetup: ['elasticsearch/src/test-cluster.ts'],
        },
      },
    ],
    // Two cores: more forks than that only make the cluster and the tests fight for CPU.
    poolOptions: { forks: { maxForks: 2 } },
  },
});
