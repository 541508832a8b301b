// What a dataset hands the pipeline (raw pixels or encoded bytes) and how one batch is made from it.
// The same code runs on the main thread (numWorkers: 0) and inside each worker.
import { FormatError, ShapeError } from '../core/errors.js';
import { decodeImage } from './decode.js';
import { toTensor } from './functional.js';
import type { Img, ImageContext } from './kernels.js';
import { sampleRandom } from './seed.js';
import type { Transform } from './transforms.js';

/** A sample's image before any transform. */
export type RawImage =
  /** Decoded pixels, interleaved HWC (as files and canvases hold them), or planar CHW (CIFAR files). */
  | { kind: 'u8'; data: Uint8Array; height: number; width: number; channels: number; layout?: 'HWC' | 'CHW' }
  /** Float CHW values, already tensor-scaled (treated as the output of ToTensor). */
  | { kind: 'f32'; data: Float32Array; channels: number; height: number; width: number }
  /** An encoded file (PNG/JPEG/...), decoded where the transforms run. */
  | { kind: 'encoded'; data: Uint8Array; source: string; channels: number };

export interface RawSample {
  image: RawImage;
  label: number;
}

export interface Batch {
  /** [N, C, H, W] values, row-major. */
  x: Float32Array;
  /** [N] class indices. */
  y: Float32Array;
  shape: [number, number, number, number];
}

async function load(ctx: ImageContext, image: RawImage): Promise<Img> {
  switch (image.kind) {
    case 'u8':
      // Planar bytes convert as one single-channel plane of c*h rows: same order, same kernel.
      if (image.layout === 'CHW' && image.channels > 1) {
        const img = ctx.fromU8Hwc(image.data, image.channels * image.height, image.width, 1);
        return { ...img, c: image.channels, h: image.height };
      }
      return ctx.fromU8Hwc(image.data, image.height, image.width, image.channels);
    case 'f32':
      return ctx.fromF32Chw(image.data, image.channels, image.height, image.width);
    case 'encoded': {
      const d = await decodeImage(image.data, image.source, image.channels);
      return ctx.fromU8Hwc(d.data, d.height, d.width, d.channels);
    }
  }
}

/**
 * Runs the transforms on each sample and stacks the results. `indices[k]` is the dataset index of
 * `samples[k]`: with (seed, epoch) it seeds that sample's random draws. A pipeline without ToTensor
 * gets one at the end, so batches always hold tensor-scaled floats.
 */
/**
 * The error of one sample's decode or transforms, with the sample's index and file in front. The error
 * object itself is kept (its class survives the trip back from a worker: the pool maps it by name).
 */
function withSample(e: unknown, index: number, image: RawSample['image']): unknown {
  if (!(e instanceof Error) || e.message.startsWith('sample ')) return e;
  const source = image.kind === 'encoded' && image.source ? ` (${image.source})` : '';
  e.message = `sample ${index}${source}: ${e.message}`;
  return e;
}

export async function makeBatch(
  ctx: ImageContext,
  samples: RawSample[],
  indices: ArrayLike<number>,
  transform: Transform | null,
  seed: number,
  epoch: number,
  /** Where to write x when its size turns out to be `out.length` (a worker's slice of a shared batch). */
  out?: Float32Array,
): Promise<Batch> {
  let x: Float32Array | null = null;
  let shape: [number, number, number, number] = [samples.length, 0, 0, 0];
  const y = new Float32Array(samples.length);
  for (let k = 0; k < samples.length; k++) {
    let img: Awaited<ReturnType<typeof load>> | null = null;
    try {
      img = await load(ctx, samples[k].image);
      if (transform) img = transform.apply(ctx, img, sampleRandom(seed, epoch, indices[k]));
      if (img.uint8) img = toTensor(ctx, img);
    } catch (e) {
      if (img) ctx.release(img);
      throw withSample(e, indices[k], samples[k].image);
    }
    if (x === null) {
      shape = [samples.length, img.c, img.h, img.w];
      const n = samples.length * img.c * img.h * img.w;
      x = out && out.length === n ? out : new Float32Array(n);
    } else if (img.c !== shape[1] || img.h !== shape[2] || img.w !== shape[3]) {
      ctx.release(img);
      throw new ShapeError(
        `sample ${indices[k]} is [${img.c}, ${img.h}, ${img.w}] after the transforms but sample ${indices[0]} of the same batch is [${shape.slice(1).join(', ')}]; add a Resize or CenterCrop`,
      );
    }
    const n = img.c * img.h * img.w;
    x.set(ctx.view(img), k * n);
    ctx.release(img);
    y[k] = samples[k].label;
  }
  return { x: x ?? new Float32Array(0), y, shape };
}

/** Checks a label read from a file: an integer class index below `numClasses`. */
export function checkLabel(label: number, numClasses: number, file: string, record: number): number {
  if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
    throw new FormatError(`${file}: record ${record}: label ${label} is out of range [0, ${numClasses - 1}]`);
  }
  return label;
}
