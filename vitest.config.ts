import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// Tests run the packages from their TypeScript sources (the "source" export condition);
// processes they spawn run the compiled dist/, which the test command builds first.
const conditions = ['source', 'node', 'import', 'module', 'default'];
const testFolders = ['*/test/**/', 'common/*/test/**/'];
const INTEGRATION = '*.int.test.ts';

/**
 * vitest starts the files that took longest last time first; a fresh clone has no last time, and then it
 * starts the largest. These run scenarios in real time on whole stacks for minutes: started last, they
 * would leave one fork alone at the end of the run. The two that need the model's Python come next, by
 * when the bootstrap's background install is done (they wait for it; see docs/development.md).
 */
const FIRST = [
  'cli/test/es-node-loss.int.test.ts',
  'cli/test/judgment-loop.int.test.ts',
  'cli/test/shadow-loop.int.test.ts',
  'cli/test/loop/',
  'cli/test/scale-stabilization.int.test.ts',
  'cli/test/stack.int.test.ts',
  'log-shipper/test/outage.int.test.ts',
  'common/contract/test/security.int.test.ts',
  'remediator/test/retrain.int.test.ts',
  'analyzer/test/judgment.int.test.ts',
];
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = FIRST.findIndex((p) => path.relative(f.project.config.root, f.moduleId).startsWith(p));
      return i < 0 ? FIRST.length : i;
    };
    // Stable: within a rank, vitest's own order.
    return (await super.sort(files)).map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default', './scripts/summary-reporter.ts'],
    sequence: { sequencer: LongestFirst },
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
