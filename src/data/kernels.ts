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

  alloc(c: number, h: number, w: number, uint8: boolean): Img {
    return { ptr: this.arena.alloc(c * h * w * 4), c, h, w, uint8 };
  }

  release(img: Img): void {
    this.arena.release(img.ptr);
  }

  /** Temporary bytes for a kernel (scratch, parameters); release after the call. */
  scratch(bytes: number): number {
    return this.arena.alloc(bytes);
  }

  view(img: Img): Float32Array {
    return new Float32Array(this.arena.buffer, img.ptr, img.c * img.h * img.w);
  }

  /** Writes `values` (f32) into fresh scratch memory and returns its pointer. */
  floats(values: ArrayLike<number>): number {
    const ptr = this.arena.alloc(values.length * 4);
    new Float32Array(this.arena.buffer, ptr, values.length).set(values);
    return ptr;
  }

  /** uint8 HWC pixels (as decoded) into a planar image. */
  fromU8Hwc(data: Uint8Array, h: number, w: number, c: number): Img {
    const src = this.arena.alloc(data.length);
    new Uint8Array(this.arena.buffer, src, data.length).set(data);
    const img = this.alloc(c, h, w, true);
    this.exports.u8_hwc_to_f32_chw(src, img.ptr, h, w, c);
    this.arena.release(src);
    return img;
  }

  /** Float CHW values (already tensor-scaled) into a planar image. */
  fromF32Chw(data: Float32Array, c: number, h: number, w: number, uint8 = false): Img {
    const img = this.alloc(c, h, w, uint8);
    this.view(img).set(data);
    return img;
  }
}
