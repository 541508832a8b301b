// Worker entry of the data pool (worker_threads in Node, a module Web Worker in browsers). It owns an
// ImageContext and rebuilds the loader's transform from its spec; it keeps no dataset of its own, only
// references to the shared image sources it was given (addSource).
import * as Comlink from 'comlink';
import type { WasmBuild } from '../backends/registry.js';
import { ImageContext } from './kernels.js';
import { type Batch, makeBatch } from './sample.js';
import { type Transform, type TransformSpec, transformFromSpec } from './transforms.js';
import { type SharedImages, type WireChunk, unpackChunk } from './wire.js';

/** Test-only fault injection: the worker exits (as if it crashed) on this sample for the first `attempts` tries. */
export interface WorkerFault {
  exitOnSample: number;
  attempts: number;
}

let ctx: ImageContext | null = null;
let transform: Transform | null = null;
let fault: WorkerFault | null = null;
const empty = new Float32Array(0);
/** Shared image sources this worker was given, by id. */
const sources = new Map<number, SharedImages>();

function die(): never {
  const proc = (globalThis as { process?: { exit(code: number): never } }).process;
  if (proc) proc.exit(70);
  (globalThis as unknown as { close(): void }).close();
  throw new Error('worker closed');
}

const api = {
  async init(spec: TransformSpec | null, build: WasmBuild | undefined, injected: WorkerFault | null): Promise<string> {
    ctx = await ImageContext.create(build);
    transform = spec ? transformFromSpec(spec) : null;
    fault = injected;
    return ctx.build;
  },
  addSource(id: number, source: SharedImages): void {
    sources.set(id, source);
  },
  async run(chunk: WireChunk): Promise<Batch & { inShared?: boolean }> {
    if (!ctx) throw new Error('data worker used before init');
    if (fault && chunk.attempt < fault.attempts && chunk.indices.includes(fault.exitOnSample)) die();
    const out = chunk.shared ? new Float32Array(chunk.shared.buffer, chunk.shared.offset * 4, chunk.shared.length) : undefined;
    const batch = await makeBatch(ctx, unpackChunk(chunk, sources), chunk.indices, transform, chunk.seed, chunk.epoch, out);
    // Pixels are in the shared batch and the pool knows the labels: only the shape goes back.
    if (out && batch.x === out) return { x: empty, y: empty, shape: batch.shape, inShared: true };
    return Comlink.transfer({ x: batch.x, y: empty, shape: batch.shape }, [batch.x.buffer]);
  },
};

export type WorkerApi = typeof api;

const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
if (proc?.versions?.node) {
  const { parentPort } = await import('node:worker_threads');
  if (parentPort) {
    const { default: nodeEndpoint } = await import('comlink/dist/esm/node-adapter.mjs');
    Comlink.expose(api, nodeEndpoint(parentPort as never));
  }
} else {
  Comlink.expose(api);
}
