import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Runs a long child process (a PyTorch export) without blocking the test worker's event loop: a worker that
 * blocks for over a minute misses vitest's own RPC deadline and fails the whole run with an unhandled error.
 */
export async function runAsync(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { stdout } = await execFileAsync(file, args, { env, maxBuffer: 64 << 20 });
  return stdout;
}
