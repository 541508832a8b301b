import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints one plain closing line, 'vitest: N passed, N failed, N skipped', that CI log readers
 * understand whatever the terminal colours of vitest's own summary.
 */
export default class SummaryReporter implements Reporter {
  private line = '';

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed++;
    }
    this.line = `vitest: ${passed} passed, ${failed} failed, ${skipped} skipped`;
    // The default reporter prints its summary after every reporter's onTestRunEnd: print last, at exit.
    process.once('exit', () => process.stdout.write(`\n${this.line}\n`));
  }
}
