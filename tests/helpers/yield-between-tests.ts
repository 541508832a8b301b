import { beforeEach } from 'vitest';

// Engine calls resolve as microtasks, so a file of long tests can run for minutes without the worker's event
// loop turning once; vitest's own RPC to its main process then misses its 60 s deadline and fails the run
// ("Timeout calling onTaskUpdate") although every test passed. One macrotask before each test lets it turn.
beforeEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
