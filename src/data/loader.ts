// torch.utils.data.DataLoader for vireo: batches of [N, C, H, W] float32 images and [N] class indices.
import { ArgumentError, VireoError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { WasmBuild } from '../backends/registry.js';
import { type Dataset, defaultImageContext } from './dataset.js';
import { WorkerPool, defaultWorkerCount } from './pool.js';
import { type Batch, type RawSample, makeBatch } from './sample.js';
import { epochPermutation } from './seed.js';
import type { WorkerFault } from './worker.js';

export interface DataLoaderOptions {
  batchSize?: number;
  /** Reorder every epoch, from (seed, epoch). */
  shuffle?: boolean;
  /** Drop the last, smaller batch. */
  dropLast?: boolean;
  /** 0 = transform on this thread; 'auto' = cores - 1 (at least 1). */
  numWorkers?: number | 'auto';
  /** Batches prepared ahead of the one being consumed (default 2). */
  prefetch?: number;
  /** Seeds shuffling and every random transform (with the epoch and the sample index). */
  seed?: number;
  /** Force a wasm build for the image kernels (tests run each). */
  build?: WasmBuild;
  /** Browsers: URL of the worker script (dist/data/worker.js as served). */
  workerUrl?: string | URL;
  /**
   * Recycle batch buffers: a batch's `x` stays valid only until the iteration after next asks for
   * another batch (its memory then holds a later batch). Saves allocating and page-faulting a fresh
   * [N, C, H, W] array per batch; for consumers that use a batch before taking the next (a training
   * loop), not for code that keeps batches. Off by default.
   */
  reuseBuffers?: boolean;
  /** Test-only fault injection: a worker exits on this sample. */
  debugWorkerFault?: WorkerFault;
}

export interface DataBatch {
  /** [N, C, H, W] float32. */
  x: Tensor;
  /** [N] class indices, as floats. */
  y: Tensor;
  /** Dataset indices of the batch's samples. */
  indices: number[];
}

/** Time the consumer waited on data (the loader's stall), over the loader's life. */
export interface LoaderStats {
  batches: number;
  /** Total wait, first batch included. */
  waitMs: number;
  /** Wait for the very first batch: worker start-up and kernel compilation. */
  firstWaitMs: number;
}

export class DataLoader implements AsyncIterable<DataBatch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly prefetch: number;
  readonly seed: number;
  readonly stats: LoaderStats = { batches: 0, waitMs: 0, firstWaitMs: 0 };
  /** The epoch the next iteration runs; each `for await` advances it. */
  epoch = 0;
  private pool: WorkerPool | null = null;
  private poolSize: Promise<number>;
  private closed = false;

  constructor(
    readonly dataset: Dataset,
    private readonly options: DataLoaderOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new ArgumentError(`DataLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.prefetch = Math.max(1, options.prefetch ?? 2);
    this.seed = options.seed ?? 0;
    const nw = options.numWorkers ?? 0;
    if (nw !== 'auto' && (!Number.isInteger(nw) || nw < 0))
      throw new ArgumentError(`DataLoader: numWorkers must be a non-negative integer or 'auto', got ${nw}`);
    this.poolSize = nw === 'auto' ? defaultWorkerCount() : Promise.resolve(nw);
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Sets the epoch the next iteration runs (as DistributedSampler.set_epoch). */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  /** The dataset indices of every batch of an epoch, in order. */
  batchIndices(epoch: number): number[][] {
    const n = this.dataset.length;
    const order = this.shuffle ? epochPermutation(n, this.seed, epoch) : Uint32Array.from({ length: n }, (_, i) => i);
    const out: number[][] = [];
    for (let s = 0; s < n; s += this.batchSize) {
      if (this.dropLast && s + this.batchSize > n) break;
      out.push(Array.from(order.subarray(s, Math.min(n, s + this.batchSize))));
    }
    return out;
  }

  /** Batch buffers the consumer is done with (reuseBuffers). */
  private spare: Float32Array[] = [];

  private takeSpare(n: number): Float32Array | undefined {
    const k = this.spare.findIndex((a) => a.length === n);
    return k >= 0 ? this.spare.splice(k, 1)[0] : undefined;
  }

  private lastSampleSize = 0;

  private async makeBatch(indices: number[], epoch: number): Promise<DataBatch> {
    // In-memory datasets answer synchronously: no promise per sample then.
    const got = indices.map((i) => this.dataset.raw(i));
    const samples = got.some((r) => r instanceof Promise) ? await Promise.all(got) : (got as RawSample[]);
    const size = await this.poolSize;
    if (this.closed) throw new VireoError('DataLoader closed while a batch was in flight');
    let b: Batch;
    if (size > 0) {
      this.pool ??= new WorkerPool({
        size,
        transform: this.dataset.transform ? this.dataset.transform.spec() : null,
        build: this.options.build,
        workerUrl: this.options.workerUrl,
        fault: this.options.debugWorkerFault ?? null,
      });
      b = await this.pool.run(samples, indices, this.seed, epoch, this.takeSpare(indices.length * this.lastSampleSize));
    } else {
      const ctx = await defaultImageContext(this.options.build);
      const out = this.takeSpare(indices.length * this.lastSampleSize);
      b = await makeBatch(ctx, samples, indices, this.dataset.transform, this.seed, epoch, out);
    }
    this.lastSampleSize = b.shape[1] * b.shape[2] * b.shape[3];
    return { x: new Tensor(b.x, b.shape), y: new Tensor(b.y, [b.shape[0]]), indices };
  }

  /**
   * With workers: the next epoch's first batches, started while this epoch's last ones are consumed
   * (so the workers do not idle across the epoch boundary). Used if the next iteration runs that
   * epoch; dropped otherwise (setEpoch to another one).
   */
  private ahead: { epoch: number; batches: number[][]; inFlight: Promise<DataBatch>[] } | null = null;

  async *[Symbol.asyncIterator](): AsyncIterator<DataBatch> {
    if (this.closed) throw new VireoError('DataLoader: iterated after close()');
    const epoch = this.epoch++;
    const ahead = this.ahead?.epoch === epoch ? this.ahead : null;
    this.ahead = null;
    const batches = ahead ? ahead.batches : this.batchIndices(epoch);
    const inFlight: Promise<DataBatch>[] = ahead ? ahead.inFlight : [];
    const held: Float32Array[] = [];
    let next = inFlight.length;
    const fill = () => {
      while (inFlight.length < this.prefetch && next < batches.length) {
        const p = this.makeBatch(batches[next++], epoch);
        p.catch(() => {});
        inFlight.push(p);
      }
      if (next === batches.length && this.pool && !this.closed) {
        // Every batch of this epoch is under way: the free prefetch slots start the next epoch's.
        const e = this.epoch;
        if (this.ahead?.epoch !== e) this.ahead = { epoch: e, batches: this.batchIndices(e), inFlight: [] };
        const a = this.ahead;
        while (inFlight.length + a.inFlight.length < this.prefetch && a.inFlight.length < a.batches.length) {
          const p = this.makeBatch(a.batches[a.inFlight.length], e);
          p.catch(() => {});
          a.inFlight.push(p);
        }
      }
    };
    try {
      fill();
      while (inFlight.length > 0) {
        const t0 = performance.now();
        const batch = await (inFlight.shift() as Promise<DataBatch>);
        const waited = performance.now() - t0;
        this.stats.waitMs += waited;
        if (this.stats.batches === 0) this.stats.firstWaitMs = waited;
        this.stats.batches++;
        fill();
        yield batch;
        if (this.options.reuseBuffers) {
          // The consumer asked for another batch: the one before the batch it just had is free.
          held.push(batch.x.dataSync());
          if (held.length > 1) this.spare.push(held.shift() as Float32Array);
        }
      }
    } finally {
      // A consumer that breaks early leaves batches in flight: let them settle quietly.
      for (const p of inFlight) p.catch(() => {});
    }
  }

  /** Ends the worker pool (if any). The loader cannot be iterated afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    this.ahead = null;
    await this.pool?.close();
    this.pool = null;
  }
}
