import type { WasmBuild } from '../backends/registry.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import { isSharedBuffer, sharedMemory } from '../core/platform.js';
import { Tensor } from '../core/tensor.js';
import { ImageContext } from './kernels.js';
import { type RawImage, type RawSample, checkLabel, makeBatch } from './sample.js';
import type { Transform } from './transforms.js';
import { type SharedImages, sharedImagesFrom, sharedLabels } from './wire.js';

const contexts = new Map<string, Promise<ImageContext>>();

/** This thread's ImageContext (per forced build) for work done outside the worker pool. */
export function defaultImageContext(build?: WasmBuild): Promise<ImageContext> {
  const key = build ?? 'auto';
  let ctx = contexts.get(key);
  if (!ctx) {
    ctx = ImageContext.create(build);
    contexts.set(key, ctx);
  }
  return ctx;
}

/**
 * A map-style dataset, like torch.utils.data.Dataset: `length` samples, each a raw image and a class
 * index. The DataLoader reads raw samples on the main thread and runs `transform` where the batch is
 * made (main thread or worker).
 */
export abstract class Dataset {
  abstract readonly length: number;
  /** Class names, index = label. */
  classes: string[] = [];
  transform: Transform | null = null;

  /** The untransformed sample `index` (0 <= index < length). */
  abstract raw(index: number): RawSample | Promise<RawSample>;

  /**
   * Every image, decoded and of one shape, in one block of shared memory, with the labels: the
   * worker pool gives it to each worker once, and batches then cross to the workers as sample
   * indices (this thread neither reads nor copies their pixels). null (the default) when the
   * dataset cannot or should not offer it (encoded files, images of varying sizes, no
   * SharedArrayBuffer, samples made on the fly); batches then carry their pixels.
   */
  sharedImages(): SharedImages | null {
    return null;
  }

  /** `dataset[index]` with the transform applied, draws seeded by (seed, epoch, index): { x: [C, H, W], y }. */
  async get(index: number, options: { seed?: number; epoch?: number } = {}): Promise<{ x: Tensor; y: number }> {
    this.checkIndex(index);
    const ctx = await defaultImageContext();
    const b = await makeBatch(ctx, [await this.raw(index)], [index], this.transform, options.seed ?? 0, options.epoch ?? 0);
    return { x: new Tensor(b.x, b.shape.slice(1)), y: b.y[0] };
  }

  protected checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new ArgumentError(`dataset index ${index} is out of range [0, ${this.length - 1}]`);
    }
  }
}

export interface ArrayDatasetOptions {
  /** Images as uint8 [N, H, W, C] (numpy/HWC, the default) or float32 [N, C, H, W] already tensor-scaled. */
  shape: readonly [number, number, number, number];
  layout?: 'NHWC' | 'NCHW';
  numClasses?: number;
  classes?: string[];
  transform?: Transform | null;
}

/** In-memory images and labels (TensorDataset). */
export class ArrayDataset extends Dataset {
  readonly length: number;
  private store: Uint8Array | Float32Array;
  private shared: SharedImages | null | undefined;
  private readonly c: number;
  private readonly h: number;
  private readonly w: number;
  private readonly layout: 'NHWC' | 'NCHW';

  constructor(
    images: Uint8Array | Float32Array,
    readonly labels: ArrayLike<number>,
    options: ArrayDatasetOptions,
  ) {
    super();
    this.store = images;
    const [n, a, b, c] = options.shape;
    this.layout = options.layout ?? (images instanceof Uint8Array ? 'NHWC' : 'NCHW');
    [this.h, this.w, this.c] = this.layout === 'NHWC' ? [a, b, c] : [b, c, a];
    if (images.length !== n * a * b * c)
      throw new ShapeError(`ArrayDataset: ${images.length} values do not fill shape [${options.shape.join(', ')}]`);
    if (labels.length !== n) throw new ShapeError(`ArrayDataset: ${labels.length} labels for ${n} images`);
    if (images instanceof Float32Array && this.layout !== 'NCHW')
      throw new ArgumentError('ArrayDataset: float32 images must be NCHW (tensor layout)');
    const numClasses = options.numClasses ?? options.classes?.length ?? Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) checkLabel(labels[i], numClasses, 'ArrayDataset', i);
    this.length = n;
    this.classes = options.classes ?? [];
    this.transform = options.transform ?? null;
  }

  /**
   * The images. After a worker pool first used the dataset this is a copy in shared memory (unless
   * the array given was already on a SharedArrayBuffer): later writes to the array given are not seen.
   */
  get images(): Uint8Array | Float32Array {
    return this.store;
  }

  override sharedImages(): SharedImages | null {
    if (this.shared !== undefined) return this.shared;
    const n = this.c * this.h * this.w;
    const meta: SharedImages['meta'] =
      this.store instanceof Float32Array
        ? { kind: 'f32', length: n, height: this.h, width: this.w, channels: this.c }
        : {
            kind: 'u8',
            length: n,
            height: this.h,
            width: this.w,
            channels: this.c,
            layout: this.layout === 'NHWC' ? 'HWC' : 'CHW',
          };
    if (sharedMemory() && isSharedBuffer(this.store.buffer)) {
      // Already shared: no copy, and the workers see later writes to it.
      this.shared = { meta, data: this.store, labels: sharedLabels(this.length, (i) => this.labels[i]) };
    } else {
      const store = this.store;
      this.shared = sharedImagesFrom(
        meta,
        this.length,
        (i) => store.subarray(i * n, (i + 1) * n),
        (i) => this.labels[i],
      );
      // Keep one copy of the pixels, not two: this thread reads the shared one from now on.
      if (this.shared) this.store = this.shared.data;
    }
    return this.shared;
  }

  raw(index: number): RawSample {
    this.checkIndex(index);
    const n = this.c * this.h * this.w;
    const data = this.store.subarray(index * n, (index + 1) * n);
    let image: RawImage;
    if (data instanceof Float32Array) image = { kind: 'f32', data, channels: this.c, height: this.h, width: this.w };
    else
      image = {
        kind: 'u8',
        data,
        height: this.h,
        width: this.w,
        channels: this.c,
        layout: this.layout === 'NHWC' ? 'HWC' : 'CHW',
      };
    return { image, label: this.labels[index] };
  }
}
