// What the JavaScript host offers, checked in one place (Node or a browser, shared memory or not).

/** Running under Node (worker_threads, node:fs, sharp) rather than in a browser. */
export const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

/** SharedArrayBuffer is usable: always in Node, only when cross-origin isolated in browsers. */
export function sharedMemory(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  return isNode || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/**
 * `buffer` is a SharedArrayBuffer. Safe where the global does not exist at all (browser pages that are
 * not cross-origin isolated), where a bare `instanceof SharedArrayBuffer` throws a ReferenceError.
 */
export function isSharedBuffer(buffer: ArrayBufferLike): buffer is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
}

/**
 * Threads the wasm backend computes on (the largest pool started in this realm; 1 before any). The data
 * loader's `numWorkers: 'auto'` leaves these cores to compute (src/data/pool.ts defaultWorkerCount).
 */
export const computeThreads = { inUse: 1 };
