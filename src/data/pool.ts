// A pool of data workers driven through comlink. A batch goes whole to one worker (split into
// contiguous chunks only across idle workers), each worker with up to two queued; datasets in shared
// memory are given to each worker once and batches then carry sample indices, others carry their raw
// pixels (shared input buffers, or transferred ones). Where results are written: see run(). A worker
// that dies (exits, crashes) is replaced and each of its chunks retried once on the replacement; a
// second death surfaces as an error naming the chunk's sample indices. Idle workers are unref'd in
// Node, so a process never hangs on the pool.
import * as Comlink from 'comlink';
import { ArgumentError, FormatError, LimitError, ShapeError, StateDictError, VireoError } from '../core/errors.js';
import { computeThreads, isNode, isSharedBuffer, sharedMemory } from '../core/platform.js';
import type { WasmBuild } from '../backends/registry.js';
import type { Batch, RawSample } from './sample.js';
import type { TransformSpec } from './transforms.js';
import { type SharedImages, type WireChunk, type WireStore, packChunk } from './wire.js';
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
  /** Chunks sent to this worker and not answered yet (at most `pipelineDepth`). */
  inFlight: number;
  /**
   * Shared input buffers for chunks that carry their pixels (one per chunk in flight, reused chunk
   * after chunk; grown when too small).
   */
  spareInputs: SharedArrayBuffer[];
  /** Ids of the shared image sources this worker has been given. */
  sources: Set<number>;
  /** Set once the worker died: the worker that took its place (one, whichever chunk noticed first). */
  replacement?: Promise<Slot>;
}

/**
 * Chunks queued on one worker at a time. With 2 the next chunk is already in the worker's message
 * queue when it answers, so it never idles waiting for this thread (busy on a 2-core device) to
 * notice the answer and send more: that round trip cost a worker ~10% of its time at 32x32.
 */
const pipelineDepth = 2;

/** A store for packChunk writing into a shared input buffer taken from the slot (grown when too small). */
function inputStore(holder: { input?: SharedArrayBuffer }): WireStore {
  return (nBytes, nFloats) => {
    const floatsAt = (nBytes + 15) & ~15;
    const need = floatsAt + nFloats * 4;
    if (!holder.input || holder.input.byteLength < need) holder.input = new SharedArrayBuffer(Math.max(need, 1));
    return { bytes: new Uint8Array(holder.input, 0, nBytes), floats: new Float32Array(holder.input, floatsAt, nFloats) };
  };
}

/** The cores this process may use (2 when the platform does not say). */
export async function machineCores(): Promise<number> {
  let cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 0;
  if (!cores && isNode) {
    const os = await import('node:os');
    cores = os.availableParallelism?.() ?? os.cpus().length;
  }
  return cores || 2;
}

/**
 * The default pool size: the cores the threaded wasm backend leaves free, at least 1 — cores − 1 while
 * compute runs on one thread, cores − N once a backend with N threads has started (2 cores, 2 threads: 1
 * data worker; 16 cores, 8 threads: 8). Data workers idle between batches, compute threads during them.
 */
export async function defaultWorkerCount(): Promise<number> {
  return Math.max(1, (await machineCores()) - Math.max(1, computeThreads.inUse));
}

/**
 * A pool never has more workers than the machine has cores: more only add threads, each with its own
 * wasm instance and batch buffers (a thousand of them held gigabytes), and no speed.
 */
export async function cappedWorkerCount(requested: number): Promise<number> {
  return Math.min(requested, await machineCores());
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

// Errors cross the worker boundary as { name, message }: rebuilt as the class they were (an ArgumentError
// from a transform stays one), so callers can tell bad input from a bug.
const errorClasses: Record<string, new (m: string) => Error> = {
  ArgumentError,
  FormatError,
  LimitError,
  ShapeError,
  StateDictError,
  VireoError,
};

function rethrown(e: unknown): Error {
  const err = e as { name?: string; message?: string };
  const Cls = err?.name ? errorClasses[err.name] : undefined;
  return Cls ? new Cls(err.message ?? String(e)) : e instanceof Error ? e : new Error(String(e));
}

class WorkerDied extends Error {}

export class WorkerPool {
  private slots: Slot[] = [];
  /** Batches waiting for a worker with room in its queue. */
  private waiters: ((s: Slot | null) => void)[] = [];
  private closed = false;
  readonly size: number;
  /** Floats per sample of the last batch (0 until one is made): sizes shared batch memory. */
  private sampleSize = 0;
  /** Shared image sources by identity, with the id workers know them by. */
  private sourceIds = new Map<SharedImages, number>();

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
    const slot: Slot = {
      remote,
      ready,
      died,
      terminate: () => terminate(),
      setBusy,
      inFlight: 0,
      spareInputs: [],
      sources: new Set(),
    };
    setBusy(false);
    return slot;
  }

  private starting: Promise<void> | null = null;

  /** Starts the workers once, however many batches ask at the same time. */
  private ensureStarted(): Promise<void> {
    this.starting ??= (async () => {
      this.slots = await Promise.all(Array.from({ length: this.size }, () => this.spawn()));
    })();
    return this.starting;
  }

  /** The least busy worker with room in its queue (chunks spread over idle workers first). */
  private leastBusy(): Slot | null {
    let best: Slot | null = null;
    for (const s of this.slots) if (s.inFlight < pipelineDepth && (!best || s.inFlight < best.inFlight)) best = s;
    return best;
  }

  /** Counts a chunk on a worker. */
  private take(s: Slot): Slot {
    s.inFlight++;
    s.setBusy(true);
    return s;
  }

  private async acquire(): Promise<Slot> {
    const free = this.leastBusy();
    if (free) return this.take(free);
    // releaseSlot counts the chunk on the worker it hands over.
    const s = await new Promise<Slot | null>((resolve) => this.waiters.push(resolve));
    if (!s) throw new VireoError('DataLoader closed while a batch was in flight');
    return s;
  }

  private releaseSlot(s: Slot): void {
    s.inFlight--;
    if (s.inFlight === 0) s.setBusy(false);
    if (this.closed) return;
    for (let free = this.leastBusy(); free && this.waiters.length > 0; free = this.leastBusy()) {
      (this.waiters.shift() as (s: Slot | null) => void)(this.take(free));
    }
  }

  /** The worker in place of a dead one: spawned once, however many of its chunks noticed. */
  private replace(dead: Slot): Promise<Slot> {
    dead.replacement ??= (async () => {
      dead.terminate();
      const fresh = await this.spawn();
      const k = this.slots.indexOf(dead);
      if (k >= 0) this.slots[k] = fresh;
      // Batches waiting because the dead worker's queue was full may go to the new one.
      this.releaseSlot(this.take(fresh));
      return fresh;
    })();
    return dead.replacement;
  }

  /** Registers a shared image source with a worker (once per worker: the memory is shared, not copied). */
  private sourceFor(slot: Slot, source: SharedImages): number {
    let id = this.sourceIds.get(source);
    if (id === undefined) {
      id = this.sourceIds.size;
      this.sourceIds.set(source, id);
    }
    if (!slot.sources.has(id)) {
      slot.sources.add(id);
      // Messages reach the worker in order: the chunk sent after this finds the source there.
      slot.remote.addSource(id, { meta: source.meta, data: source.data, labels: source.labels }).catch(() => {});
    }
    return id;
  }

  private async runChunk(
    input: RawSample[] | SharedImages,
    indices: number[],
    seed: number,
    epoch: number,
    shared: WireChunk['shared'],
  ): Promise<Batch & { inShared?: boolean }> {
    let slot = await this.acquire();
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.closed) throw new VireoError('DataLoader closed while a batch was in flight');
        const holder: { input?: SharedArrayBuffer } = {};
        try {
          let chunk: WireChunk;
          const transfer: Transferable[] = [];
          if (!Array.isArray(input)) {
            chunk = {
              indices,
              metas: null,
              bytes: empty8,
              floats: empty32,
              seed,
              epoch,
              attempt,
              source: this.sourceFor(slot, input),
            };
          } else if (sharedMemory()) {
            holder.input = slot.spareInputs.pop();
            chunk = packChunk(input, indices, seed, epoch, attempt, inputStore(holder));
          } else {
            chunk = packChunk(input, indices, seed, epoch, attempt);
            transfer.push(chunk.bytes.buffer, chunk.floats.buffer);
          }
          chunk.shared = shared;
          await slot.ready;
          return await Promise.race([slot.remote.run(transfer.length ? Comlink.transfer(chunk, transfer) : chunk), slot.died]);
        } catch (e) {
          if (!(e instanceof WorkerDied)) throw rethrown(e);
          if (this.closed) throw new VireoError('DataLoader closed while a batch was in flight');
          const dead = slot;
          slot = await this.replace(dead);
          dead.inFlight--;
          this.take(slot);
          if (attempt >= 1) {
            throw new VireoError(
              `data worker died twice on samples [${indices.join(', ')}] (${e.message}); giving up on this batch`,
            );
          }
        } finally {
          if (holder.input) slot.spareInputs.push(holder.input);
        }
      }
    } finally {
      this.releaseSlot(slot);
    }
  }

  /** Shared buffers workers write batches into, copied out here and reused (by byte size). */
  private staging: SharedArrayBuffer[] = [];

  private takeStaging(bytes: number): SharedArrayBuffer {
    for (let k = this.staging.length - 1; k >= 0; k--)
      if (this.staging[k].byteLength === bytes) return this.staging.splice(k, 1)[0];
    return new SharedArrayBuffer(bytes);
  }

  private giveStaging(buffer: SharedArrayBuffer): void {
    this.staging.push(buffer);
    if (this.staging.length > 2 * this.size + 2) this.staging.shift(); // sizes no longer asked for
  }

  /**
   * Transforms and stacks one batch. `input`: the batch's raw samples, or the dataset's shared
   * images (then only `indices` cross to the workers).
   *
   * A batch goes whole to one worker (one message each way per batch, as torch's DataLoader); with
   * several workers idle (the first batches, a starved loader) it is split across them so none
   * waits while another works alone. Where the workers write costs more than the transforms at
   * small sizes, so it depends on whether the consumer hands batches back (`memory`):
   * - `spare`, a released batch in shared memory of the right size, is written again: no copy, no
   *   fresh pages, nothing for the GC;
   * - 'shared' (the consumer releases batches, none is free yet): a fresh shared buffer, which
   *   becomes a spare once released;
   * - 'copy' (the consumer keeps batches): workers write into staging memory the pool reuses and
   *   this thread copies it into a fresh array. Fresh shared memory was the alternative: its pages
   *   fault in at ~1.3-5 us each on a VM, and with this thread allocating almost nothing V8 ran no
   *   GC to free kept-then-dropped batches (RSS grew to GBs; 224x224 with 1 worker ran at a
   *   quarter of the speed without workers).
   */
  async run(
    input: RawSample[] | SharedImages,
    indices: number[],
    seed: number,
    epoch: number,
    memory: { spare?: Float32Array; fresh: 'shared' | 'copy' } = { fresh: 'copy' },
  ): Promise<Batch> {
    if (this.closed) throw new VireoError('the worker pool is closed');
    await this.ensureStarted();
    const count = indices.length;
    const labels = new Float32Array(count);
    for (let k = 0; k < count; k++) labels[k] = Array.isArray(input) ? input[k].label : input.labels[indices[k]];
    let idle = 0;
    for (const s of this.slots) if (s.inFlight === 0) idle++;
    const parts = Math.max(1, Math.min(idle, count));
    const per = Math.ceil(count / parts);
    // Until the sample size is known (the first batch), or without SharedArrayBuffer, workers
    // return arrays of their own (transferred).
    const sampleSize = this.sampleSize;
    const bytes = count * sampleSize * 4;
    const spare = memory.spare;
    let target: SharedArrayBuffer | null = null;
    let staged = false;
    if (sampleSize > 0 && sharedMemory()) {
      if (spare && isSharedBuffer(spare.buffer) && spare.byteOffset === 0 && spare.buffer.byteLength === bytes)
        target = spare.buffer;
      else if (memory.fresh === 'shared') target = new SharedArrayBuffer(bytes);
      else {
        target = this.takeStaging(bytes);
        staged = true;
      }
    }
    const jobs: Promise<Batch & { inShared?: boolean }>[] = [];
    for (let start = 0; start < count; start += per) {
      const n = Math.min(per, count - start);
      const region = target ? { buffer: target, offset: start * sampleSize, length: n * sampleSize } : undefined;
      const part = Array.isArray(input) ? input.slice(start, start + per) : input;
      jobs.push(this.runChunk(part, indices.slice(start, start + per), seed, epoch, region));
    }
    const results = await Promise.all(jobs);
    const [, c, h, w] = results[0].shape;
    this.sampleSize = c * h * w;
    for (let k = 1; k < results.length; k++) {
      const s = results[k].shape;
      if (s[1] !== c || s[2] !== h || s[3] !== w) {
        throw new ShapeError(
          `samples ${indices[k * per]} and ${indices[0]} of one batch have different shapes after the transforms ([${s.slice(1).join(', ')}] vs [${c}, ${h}, ${w}]); add a Resize or CenterCrop`,
        );
      }
    }
    const shape: Batch['shape'] = [count, c, h, w];
    const allShared = target !== null && results.every((r) => r.inShared) && c * h * w === sampleSize;
    if (allShared && !staged) return { x: new Float32Array(target as SharedArrayBuffer), y: labels, shape };
    if (results.length === 1 && !results[0].inShared) return { x: results[0].x, y: labels, shape }; // the worker's own array
    const x = new Float32Array(count * c * h * w);
    let offset = 0;
    for (let k = 0; k < results.length; k++) {
      const n = Math.min(per, count - k * per);
      if (results[k].inShared) {
        x.set(new Float32Array(target as SharedArrayBuffer, offset * sampleSize * 4, n * sampleSize), offset * c * h * w);
      } else x.set(results[k].x, offset * c * h * w);
      offset += n;
    }
    if (staged) this.giveStaging(target as SharedArrayBuffer);
    return { x, y: labels, shape };
  }

  /** Ends every worker. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(null);
    for (const s of this.slots) s.terminate();
    this.slots = [];
  }
}

const empty8 = new Uint8Array(0);
const empty32 = new Float32Array(0);
