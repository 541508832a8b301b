// Runs the vireo command from source in a child process (tests that need signals or a fresh process):
//   node --import tsx tests/helpers/cli-child.ts train --epochs 1 ...
import { run } from '../../src/cli/main.js';

process.exitCode = await run(process.argv.slice(2));
