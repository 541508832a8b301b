// torch.utils.data.DataLoader for vireo: batches of [N, C, H, W] float32 images and [N] class indices.
import { ArgumentError, VireoError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { WasmBuild } from '../backends/registry.js';
import { type Dataset, defaultImageContext } from './dataset.js';
import { WorkerPool, cappedWorkerCount, defaultWorkerCount } from './pool.js';
import { type Batch, type RawSample, makeBatch } from './sample.js';
import { epochPermutation } from './seed.js';
import type { WorkerFault } from './worker.js';

export interface DataLoaderOptions {
  batchSize?: number;
  /** Reorder every epoch, from (seed, epoch). */
  shuffle?: boolean;
  /** Drop the last, smaller batch. */
  dropLast?: boolean;
  /** 0 = transform on this thread; 'auto' = cores - 1 (at least 1); at most the machine's cores. */
  numWorkers?: number | 'auto';
  /**
   * Batches prepared ahead, per worker (torch's prefetch_factor, default 2): up to
   * prefetch x numWorkers batches are in flight (prefetch without workers).
   */
  prefetch?: number;
  /** Seeds shuffling and every random transform (with the epoch and the sample index). */
  seed?: number;
  /** Force a wasm build for the image kernels (tests run each). */
  build?: WasmBuild;
  /** Browsers: URL of the worker script (dist/data/worker.js as served). */
  workerUrl?: string | URL;
  /**
   * Release every batch automatically when the iteration after next asks for another batch (see
   * DataBatch.release): for loops that use a batch before taking the next and cannot call release
   * themselves. Reading a batch after that throws. Off by default.
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
  /**
   * Hands the batch's memory back to the loader, which writes a later batch into it instead of a
   * fresh array (fresh memory must be page-faulted in: at 32x32 that cost the workers about a third
   * of their time). x and y cannot be read afterwards (reading throws). Optional: a batch never
   * released is garbage collected as usual. fit() and evaluate() release each batch after its step.
   */
  release(): void;
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
    this.poolSize = nw === 'auto' ? defaultWorkerCount() : cappedWorkerCount(nw);
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

  /** Batch memory handed back (DataBatch.release), written again by later batches. */
  private spare: Float32Array[] = [];

  /** Set once a batch came back (release): batch memory is then recycled rather than copied. */
  private releasing = false;

  private giveSpare(values: Float32Array): void {
    this.releasing = true;
    this.spare.push(values);
    // More than the batches in flight can use is kept no longer (a loop that releases batches it
    // does not take again, a batch size that changed).
    if (this.spare.length > 16) this.spare.shift();
  }

  /** The most recently released batch memory of `n` floats (the likeliest still in cache). */
  private takeSpare(n: number): Float32Array | undefined {
    for (let k = this.spare.length - 1; k >= 0; k--) if (this.spare[k].length === n) return this.spare.splice(k, 1)[0];
    return undefined;
  }

  private lastSampleSize = 0;

  private async makeBatch(indices: number[], epoch: number): Promise<DataBatch> {
    const size = await this.poolSize;
    if (this.closed) throw new VireoError('DataLoader closed while a batch was in flight');
    // With workers, a dataset whose images sit in shared memory sends indices only.
    const source = size > 0 ? this.dataset.sharedImages() : null;
    let samples: RawSample[] = [];
    if (!source) {
      // In-memory datasets answer synchronously: no promise per sample then.
      const got = indices.map((i) => this.dataset.raw(i));
      samples = got.some((r) => r instanceof Promise) ? await Promise.all(got) : (got as RawSample[]);
      if (this.closed) throw new VireoError('DataLoader closed while a batch was in flight');
    }
    let b: Batch;
    if (size > 0) {
      this.pool ??= new WorkerPool({
        size,
        transform: this.dataset.transform ? this.dataset.transform.spec() : null,
        build: this.options.build,
        workerUrl: this.options.workerUrl,
        fault: this.options.debugWorkerFault ?? null,
      });
      // A consumer that released a batch gets shared batch memory (recycled from then on); one
      // that keeps its batches gets plain arrays (see WorkerPool.run).
      const spare = this.takeSpare(indices.length * this.lastSampleSize);
      b = await this.pool.run(source ?? samples, indices, this.seed, epoch, { spare, fresh: this.releasing ? 'shared' : 'copy' });
    } else {
      const ctx = await defaultImageContext(this.options.build);
      const out = this.takeSpare(indices.length * this.lastSampleSize);
      b = await makeBatch(ctx, samples, indices, this.dataset.transform, this.seed, epoch, out);
    }
    this.lastSampleSize = b.shape[1] * b.shape[2] * b.shape[3];
    const x = new Tensor(b.x, b.shape, { onDispose: (values) => this.giveSpare(values) });
    const y = new Tensor(b.y, [b.shape[0]]);
    return {
      x,
      y,
      indices,
      release: () => {
        x.dispose();
        y.dispose();
      },
    };
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
    const depth = this.prefetch * Math.max(1, await this.poolSize);
    const ahead = this.ahead?.epoch === epoch ? this.ahead : null;
    this.ahead = null;
    const batches = ahead ? ahead.batches : this.batchIndices(epoch);
    const inFlight: Promise<DataBatch>[] = ahead ? ahead.inFlight : [];
    const held: DataBatch[] = [];
    let next = inFlight.length;
    const fill = () => {
      while (inFlight.length < depth && next < batches.length) {
        const p = this.makeBatch(batches[next++], epoch);
        p.catch(() => {});
        inFlight.push(p);
      }
      if (next === batches.length && this.pool && !this.closed) {
        // Every batch of this epoch is under way: the free prefetch slots start the next epoch's.
        const e = this.epoch;
        if (this.ahead?.epoch !== e) this.ahead = { epoch: e, batches: this.batchIndices(e), inFlight: [] };
        const a = this.ahead;
        while (inFlight.length + a.inFlight.length < depth && a.inFlight.length < a.batches.length) {
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
          held.push(batch);
          if (held.length > 1) (held.shift() as DataBatch).release();
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
