import { WasmArena } from '../backends/arena.js';
import type { WasmBuild } from '../backends/registry.js';
import { type KernelExports, loadWasm } from '../backends/wasm/loader.js';

/**
 * A planar float32 image living in an ImageContext's wasm memory: `c` planes of `h` x `w`.
 * `uint8` marks images before ToTensor (values 0..255, kernels round like torchvision's uint8 path);
 * after ToTensor values are floats (0..1, or anything once normalized).
 */
export interface Img {
  ptr: number;
  c: number;
  h: number;
  w: number;
  uint8: boolean;
}

/**
 * The image kernels' own instance of the vireo wasm module (same binary as the compute backend, a
 * separate memory), with an arena for images. One per thread: the main thread and each worker.
 */
export class ImageContext {
  readonly arena: WasmArena;
  private constructor(
    readonly exports: KernelExports,
    readonly build: WasmBuild,
  ) {
    this.arena = new WasmArena(exports.memory, exports.heap_base());
  }

  static async create(build?: WasmBuild): Promise<ImageContext> {
    const loaded = await loadWasm(build);
    return new ImageContext(loaded.exports, loaded.build);
  }

  /** Size of each block handed out by `take` (by pointer). */
  private sizes = new Map<number, number>();
  /** Released blocks kept for reuse, by size: a pipeline asks for the same sizes sample after sample. */
  private spare = new Map<number, number[]>();
  private spareBytes = 0;
  /** Past this many cached bytes, released blocks go back to the arena (images of varying sizes). */
  private static readonly spareLimit = 32 << 20;

  /**
   * Memory for an image or a kernel's scratch. Blocks come from a per-size free list before the
   * arena: the arena's release (sort and merge of its free list) cost more than a 32x32 image's
   * kernels when it ran several times per sample.
   */
  take(bytes: number): number {
    const size = (Math.max(bytes, 1) + 63) & ~63;
    const list = this.spare.get(size);
    if (list && list.length > 0) {
      this.spareBytes -= size;
      const ptr = list.pop() as number;
      this.sizes.set(ptr, size);
      return ptr;
    }
    const ptr = this.arena.alloc(size);
    this.sizes.set(ptr, size);
    return ptr;
  }

  /** Gives back a block from `take` (scratch, images). */
  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    if (this.spareBytes + size > ImageContext.spareLimit) {
      this.arena.free(ptr);
      return;
    }
    let list = this.spare.get(size);
    if (!list) {
      list = [];
      this.spare.set(size, list);
    }
    list.push(ptr);
    this.spareBytes += size;
  }

  /** Bytes taken and not yet freed (cached spare blocks excluded). */
  get bytesInUse(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }

  alloc(c: number, h: number, w: number, uint8: boolean): Img {
    return { ptr: this.take(c * h * w * 4), c, h, w, uint8 };
  }

  release(img: Img): void {
    this.free(img.ptr);
  }

  /** Temporary bytes for a kernel (scratch, parameters); `free` after the call. */
  scratch(bytes: number): number {
    return this.take(bytes);
  }

  view(img: Img): Float32Array {
    return new Float32Array(this.arena.buffer, img.ptr, img.c * img.h * img.w);
  }

  /** Writes `values` (f32) into fresh scratch memory and returns its pointer. */
  floats(values: ArrayLike<number>): number {
    const ptr = this.take(values.length * 4);
    new Float32Array(this.arena.buffer, ptr, values.length).set(values);
    return ptr;
  }

  /** uint8 HWC pixels (as decoded) into a planar image. */
  fromU8Hwc(data: Uint8Array, h: number, w: number, c: number): Img {
    const src = this.take(data.length);
    const img = this.alloc(c, h, w, true);
    new Uint8Array(this.arena.buffer, src, data.length).set(data);
    this.exports.u8_hwc_to_f32_chw(src, img.ptr, h, w, c);
    this.free(src);
    return img;
  }

  /** Float CHW values (already tensor-scaled) into a planar image. */
  fromF32Chw(data: Float32Array, c: number, h: number, w: number, uint8 = false): Img {
    const img = this.alloc(c, h, w, uint8);
    this.view(img).set(data);
    return img;
  }
}
