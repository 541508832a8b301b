// How many threads the wasm backend runs, and why: the one place the default and its reasons live.
import { ArgumentError } from '../../core/errors.js';
import { isNode, sharedMemory } from '../../core/platform.js';
import type { WasmBuild } from '../registry.js';

/**
 * Most threads the default picks. On the 2-core development machine both cores pay (see bench/run.mjs);
 * beyond 8 the reference CNN's layers are too small per thread for more to pay (a step's parallel work
 * is split into ~coutG·P/8 panels or batch images), so larger counts must be asked for.
 */
export const DEFAULT_MAX_THREADS = 8;

export interface ThreadChoice {
  threads: number;
  /** Why this many (shown by backendInfo() and `vireo info`). */
  reason: string;
}

/** The cores the platform reports (navigator.hardwareConcurrency, Node's availableParallelism). */
export async function reportedCores(): Promise<number> {
  let cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 0;
  if (!cores && isNode) {
    const os = await import('node:os');
    cores = os.availableParallelism?.() ?? os.cpus().length;
  }
  return Math.max(1, cores || 1);
}

/**
 * The thread count for `requested` (undefined: the default) on this platform and build. Threads need
 * shared memory (always in Node; in a browser only on a cross-origin isolated page) and a SIMD build.
 * Without one of these the backend runs on the calling thread and the reason says which.
 */
export async function chooseThreads(
  requested: number | undefined,
  build: WasmBuild,
  env: { shared?: boolean; hasSharedArrayBuffer?: boolean; cores?: number } = {},
): Promise<ThreadChoice> {
  const shared = env.shared ?? sharedMemory();
  const hasSab = env.hasSharedArrayBuffer ?? typeof SharedArrayBuffer !== 'undefined';
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1)) {
    throw new ArgumentError(`threads must be a positive integer, got ${requested}`);
  }
  if (requested === 1) return { threads: 1, reason: 'one thread requested' };
  if (!shared) {
    return {
      threads: 1,
      reason: !hasSab
        ? 'no SharedArrayBuffer: the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp)'
        : 'the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp)',
    };
  }
  if (build === 'scalar') return { threads: 1, reason: 'the scalar build runs one thread (threads come with the SIMD builds)' };
  if (requested !== undefined) return { threads: requested, reason: `${requested} threads requested` };
  const cores = env.cores ?? (await reportedCores());
  const threads = Math.min(cores, DEFAULT_MAX_THREADS);
  return {
    threads,
    reason:
      cores > DEFAULT_MAX_THREADS
        ? `${cores} cores reported, capped at ${DEFAULT_MAX_THREADS}`
        : `${cores} core${cores === 1 ? '' : 's'} reported`,
  };
}
