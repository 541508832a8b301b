// A pool of data workers driven through comlink. A batch is split into contiguous chunks, one per
// worker; pixel buffers move as transferables both ways. A worker that dies (exits, crashes) is
// replaced and its chunk retried once on the replacement; a second death surfaces as an error naming
// the chunk's sample indices. Idle workers are unref'd in Node, so a process never hangs on the pool.
import * as Comlink from 'comlink';
import { FormatError, ShapeError, VireoError } from '../core/errors.js';
import type { WasmBuild } from '../backends/registry.js';
import type { Batch, RawSample } from './sample.js';
import type { TransformSpec } from './transforms.js';
import { type WireChunk, type WireStore, packChunk } from './wire.js';
import type { WorkerApi, WorkerFault } from './worker.js';

export interface WorkerPoolOptions {
  size: number;
  transform: TransformSpec | null;
  build?: WasmBuild;
  /** Where the worker script is (browsers: dist/data/worker.js as served, or a bundle of it). */
  workerUrl?: string | URL;
  /** Test-only: make a worker exit on a sample (see WorkerFault). */
  fault?: WorkerFault | null;
}

interface Slot {
  remote: Comlink.Remote<WorkerApi>;
  ready: Promise<string>;
  /** Rejects when the worker exits or fails outside a call. */
  died: Promise<never>;
  terminate(): void;
  setBusy(busy: boolean): void;
  /** This worker's input pixels (shared memory): rewritten for each chunk it runs, one at a time. */
  input?: SharedArrayBuffer;
}

/** A store for packChunk writing into the slot's shared input buffer (grown when too small). */
function slotStore(slot: Slot): WireStore {
  return (nBytes, nFloats) => {
    const floatsAt = (nBytes + 15) & ~15;
    const need = floatsAt + nFloats * 4;
    if (!slot.input || slot.input.byteLength < need) slot.input = new SharedArrayBuffer(Math.max(need, 1));
    return { bytes: new Uint8Array(slot.input, 0, nBytes), floats: new Float32Array(slot.input, floatsAt, nFloats) };
  };
}

const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

/** The default pool size: cores - 1, at least 1. */
export async function defaultWorkerCount(): Promise<number> {
  let cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 0;
  if (!cores && isNode) {
    const os = await import('node:os');
    cores = os.availableParallelism?.() ?? os.cpus().length;
  }
  return Math.max(1, (cores || 2) - 1);
}

/**
 * The worker script next to this module. From dist/ the compiled worker.js runs directly. Under a TS
 * runner (vitest, tsx) this file is .ts: a two-line eval'd worker loads worker.ts through tsx's
 * tsImport (execArgv loaders do not reach worker threads in Node 20), so tests need no build step.
 */
async function nodeWorkerScript(): Promise<{ script: string | URL; eval: boolean }> {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { script: new URL('./worker.js', here), eval: false };
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  const tsx = pathToFileURL(createRequire(here).resolve('tsx/esm/api')).href.replace(/index\.cjs$/, 'index.mjs');
  const entry = new URL('./worker.ts', here).href;
  return {
    script: `import(${JSON.stringify(tsx)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(here)}));`,
    eval: true,
  };
}

const errorClasses: Record<string, new (m: string) => Error> = { FormatError, ShapeError, VireoError };

function rethrown(e: unknown): Error {
  const err = e as { name?: string; message?: string };
  const Cls = err?.name ? errorClasses[err.name] : undefined;
  return Cls ? new Cls(err.message ?? String(e)) : e instanceof Error ? e : new Error(String(e));
}

class WorkerDied extends Error {}

/** SharedArrayBuffer is usable: always in Node, only when cross-origin isolated in browsers. */
function sharedMemory(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  const g = globalThis as { crossOriginIsolated?: boolean };
  return isNode || g.crossOriginIsolated === true;
}

export class WorkerPool {
  private slots: Slot[] = [];
  private idle: Slot[] = [];
  private waiters: ((s: Slot | null) => void)[] = [];
  private closed = false;
  readonly size: number;
  /** Floats per sample of the last batch (0 until one is made): sizes the shared output buffer. */
  private sampleSize = 0;

  constructor(private readonly options: WorkerPoolOptions) {
    this.size = Math.max(1, Math.floor(options.size));
  }

  private async spawn(): Promise<Slot> {
    let remote: Comlink.Remote<WorkerApi>;
    let terminate: () => void;
    let setBusy: (b: boolean) => void = () => {};
    let died: Promise<never>;
    if (isNode) {
      const { Worker } = await import('node:worker_threads');
      const { default: nodeEndpoint } = await import('comlink/dist/esm/node-adapter.mjs');
      const script = await nodeWorkerScript();
      const worker = this.options.workerUrl
        ? new Worker(new URL(this.options.workerUrl.toString()))
        : new Worker(script.script, { eval: script.eval });
      died = new Promise<never>((_, reject) => {
        worker.once('exit', (code) => reject(new WorkerDied(`data worker exited with code ${code}`)));
        worker.once('error', (e) => reject(new WorkerDied(`data worker crashed: ${e.message}`)));
      });
      remote = Comlink.wrap<WorkerApi>(nodeEndpoint(worker as never));
      terminate = () => void worker.terminate();
      setBusy = (b) => (b ? worker.ref() : worker.unref());
    } else {
      const url = this.options.workerUrl ?? new URL('./worker.js', import.meta.url);
      const worker = new Worker(url, { type: 'module' });
      died = new Promise<never>((_, reject) => {
        worker.addEventListener('error', (e) => reject(new WorkerDied(`data worker crashed: ${e.message}`)));
      });
      remote = Comlink.wrap<WorkerApi>(worker);
      terminate = () => worker.terminate();
    }
    died.catch(() => {});
    const ready = Promise.race([remote.init(this.options.transform, this.options.build, this.options.fault ?? null), died]);
    ready.catch(() => {});
    const slot: Slot = { remote, ready, died, terminate: () => terminate(), setBusy };
    setBusy(false);
    return slot;
  }

  private starting: Promise<void> | null = null;

  /** Starts the workers once, however many batches ask at the same time. */
  private ensureStarted(): Promise<void> {
    this.starting ??= (async () => {
      const spawned = await Promise.all(Array.from({ length: this.size }, () => this.spawn()));
      for (const s of spawned) {
        this.slots.push(s);
        this.releaseSlot(s);
      }
    })();
    return this.starting;
  }

  private async acquire(): Promise<Slot> {
    const s = this.idle.shift() ?? (await new Promise<Slot | null>((resolve) => this.waiters.push(resolve)));
    if (!s) throw new VireoError('DataLoader closed while a batch was in flight');
    return s;
  }

  private releaseSlot(s: Slot): void {
    s.setBusy(false);
    if (this.closed) return;
    const w = this.waiters.shift();
    if (w) w(s);
    else this.idle.push(s);
  }

  private async replace(dead: Slot): Promise<Slot> {
    dead.terminate();
    const fresh = await this.spawn();
    this.slots[this.slots.indexOf(dead)] = fresh;
    return fresh;
  }

  private async runChunk(
    samples: RawSample[],
    indices: number[],
    seed: number,
    epoch: number,
    shared?: WireChunk['shared'],
  ): Promise<Batch & { inShared?: boolean }> {
    let slot = await this.acquire();
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.closed) throw new VireoError('DataLoader closed while a batch was in flight');
        slot.setBusy(true);
        const inShared = sharedMemory();
        const chunk = packChunk(samples, indices, seed, epoch, attempt, inShared ? slotStore(slot) : undefined);
        chunk.shared = shared;
        try {
          await slot.ready;
          return await Promise.race([
            slot.remote.run(inShared ? chunk : Comlink.transfer(chunk, [chunk.bytes.buffer, chunk.floats.buffer])),
            slot.died,
          ]);
        } catch (e) {
          if (!(e instanceof WorkerDied)) throw rethrown(e);
          if (this.closed) throw new VireoError('DataLoader closed while a batch was in flight');
          slot = await this.replace(slot);
          if (attempt >= 1) {
            throw new VireoError(
              `data worker died twice on samples [${indices.join(', ')}] (${e.message}); giving up on this batch`,
            );
          }
        }
      }
    } finally {
      this.releaseSlot(slot);
    }
  }

  /** Transforms and stacks one batch across the workers. */
  /** `reuse`: a batch buffer the caller is done with; used when it is shared memory of the right size. */
  async run(samples: RawSample[], indices: number[], seed: number, epoch: number, reuse?: Float32Array): Promise<Batch> {
    if (this.closed) throw new VireoError('the worker pool is closed');
    await this.ensureStarted();
    const parts = Math.min(this.size, samples.length);
    const per = Math.ceil(samples.length / parts);
    // After the first batch the sample size is known: workers then write straight into one shared
    // buffer (no transfer back, no copy on this thread). Without SharedArrayBuffer (browsers that are
    // not cross-origin isolated) chunks come back as transferred buffers and are stacked here.
    const sampleSize = this.sampleSize;
    const bytes = samples.length * sampleSize * 4;
    const recycled =
      reuse && reuse.buffer instanceof SharedArrayBuffer && reuse.byteOffset === 0 && reuse.buffer.byteLength === bytes
        ? reuse.buffer
        : null;
    const shared = sampleSize > 0 && sharedMemory() ? (recycled ?? new SharedArrayBuffer(bytes)) : null;
    const jobs: Promise<Batch & { inShared?: boolean }>[] = [];
    for (let start = 0; start < samples.length; start += per) {
      const n = Math.min(per, samples.length - start);
      const region = shared ? { buffer: shared, offset: start * sampleSize, length: n * sampleSize } : undefined;
      jobs.push(this.runChunk(samples.slice(start, start + per), indices.slice(start, start + per), seed, epoch, region));
    }
    const results = await Promise.all(jobs);
    const [, c, h, w] = results[0].shape;
    this.sampleSize = c * h * w;
    if (results.length === 1 && !results[0].inShared) return results[0]; // the worker's buffer is the batch
    for (let k = 1; k < results.length; k++) {
      const s = results[k].shape;
      if (s[1] !== c || s[2] !== h || s[3] !== w) {
        throw new ShapeError(
          `samples ${indices[k * per]} and ${indices[0]} of one batch have different shapes after the transforms ([${s.slice(1).join(', ')}] vs [${c}, ${h}, ${w}]); add a Resize or CenterCrop`,
        );
      }
    }
    const allShared = shared !== null && results.every((r) => r.inShared) && c * h * w === sampleSize;
    const x = allShared ? new Float32Array(shared) : new Float32Array(samples.length * c * h * w);
    const y = new Float32Array(samples.length);
    for (let k = 0; k < samples.length; k++) y[k] = samples[k].label;
    let offset = 0;
    for (let k = 0; k < results.length; k++) {
      const count = Math.min(per, samples.length - k * per);
      if (!allShared) {
        if (results[k].inShared) {
          const region = new Float32Array(shared as SharedArrayBuffer, offset * (sampleSize as number) * 4, count * sampleSize);
          x.set(region, offset * c * h * w);
        } else x.set(results[k].x, offset * c * h * w);
      }
      offset += count;
    }
    return { x, y, shape: [samples.length, c, h, w] };
  }

  /** Ends every worker. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(null);
    for (const s of this.slots) s.terminate();
    this.slots = [];
    this.idle = [];
  }
}
