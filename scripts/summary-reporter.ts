import type { Reporter, TestModule } from 'vitest/node';

/**
 * Adds one plain "Tests: N passed, N failed" line after vitest's own summary,
 * the closing line CI tools that do not know vitest read to count the run.
 * It is written at process exit so that it stays last, after the global
 * teardown's output (stdout is synchronous for files and pipes on Linux).
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
      // A file that failed to load has no tests but is a failure all the same.
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) counts.failed += 1;
    }
    const skipped = counts.skipped ? `, ${counts.skipped} skipped` : '';
    process.once('exit', () => console.log(`\nTests: ${counts.passed} passed, ${counts.failed} failed${skipped}`));
  }
}
