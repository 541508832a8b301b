import { alignUp } from '../core/align.js';
import type { DeviceMemory, ParamHandle } from './backend.js';
import { FirstFit } from './first-fit.js';

/**
 * Regions start on cache lines: a kernel's SIMD loads never straddle two lines at a region's start.
 * Larger than the 16 bytes a v128 load needs, which is what the contract states as `alignment`.
 */
const REGION_ALIGN = 64;

/**
 * First-fit allocator over one growable linear memory (a wasm module's memory, or a host ArrayBuffer
 * for the reference backend), and the device-memory contract over it. The memory is host-readable,
 * so the backend's own kernels take Float32Array views with `f32`; nothing above the backend does.
 */
export abstract class Arena implements DeviceMemory {
  readonly alignment = 16;
  private readonly blocks: FirstFit;

  constructor(protected readonly base: number) {
    this.blocks = new FirstFit(base, REGION_ALIGN);
  }

  /** The current backing store (may change after growth: take views after allocating). */
  abstract get buffer(): ArrayBuffer;
  protected abstract grow(minBytes: number): void;

  alloc(bytes: number): number {
    return this.blocks.alloc(bytes, (top) => {
      if (top > this.buffer.byteLength) this.grow(top);
    });
  }

  free(ptr: number): void {
    this.blocks.free(ptr);
  }

  /** A Float32Array view of `length` floats at byte offset `ptr` (for the backend's own kernels). */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.buffer, ptr, length);
  }

  /** A parameter's values in this memory, as a view (for the backend's own kernels). */
  param(h: ParamHandle): Float32Array {
    return this.f32(h.ptr, h.size);
  }

  upload(ptr: number, data: Float32Array): void {
    this.f32(ptr, data.length).set(data);
  }

  readSync(ptr: number, length: number, into?: Float32Array): Float32Array {
    const view = this.f32(ptr, length);
    if (!into) return view.slice();
    into.set(view);
    return into;
  }

  async download(ptr: number, length: number): Promise<Float32Array> {
    return this.readSync(ptr, length);
  }

  copy(src: number, dst: number, bytes: number): void {
    new Uint8Array(this.buffer).copyWithin(dst, src, src + bytes);
  }

  fill(ptr: number, length: number, value: number): void {
    this.f32(ptr, length).fill(value);
  }

  /** Highest byte ever handed out: constant across warm steps. */
  get highWater(): number {
    return this.blocks.highWater;
  }

  get bytesInUse(): number {
    return this.blocks.bytesInUse;
  }
}

/** Arena over a plain ArrayBuffer, grown by copying (the reference backend). */
export class HostArena extends Arena {
  private store = new ArrayBuffer(1 << 16);

  constructor() {
    super(64);
  }

  get buffer(): ArrayBuffer {
    return this.store;
  }

  protected grow(minBytes: number): void {
    const next = new ArrayBuffer(Math.max(minBytes, this.store.byteLength * 2));
    new Uint8Array(next).set(new Uint8Array(this.store));
    this.store = next;
  }
}

/** Arena over a WebAssembly.Memory, starting above the module's own data and stack. */
export class WasmArena extends Arena {
  constructor(
    private readonly memory: WebAssembly.Memory,
    heapBase: number,
  ) {
    super(alignUp(heapBase, REGION_ALIGN));
  }

  get buffer(): ArrayBuffer {
    return this.memory.buffer;
  }

  protected grow(minBytes: number): void {
    const have = this.memory.buffer.byteLength;
    const want = Math.max(minBytes, have + (have >> 1));
    this.memory.grow(Math.ceil((want - have) / 65536));
  }
}
