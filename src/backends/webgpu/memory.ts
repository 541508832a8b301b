/// <reference types="@webgpu/types" />
import { alignUp } from '../../core/align.js';
import { VireoError } from '../../core/errors.js';
import type { DeviceMemory } from '../backend.js';
import type { GpuQueue } from './queue.js';

const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const MAP_READ = 0x01;

/**
 * Device memory on one GPU storage buffer: regions are byte offsets into it, aligned to the adapter's
 * minStorageBufferOffsetAlignment (the contract's `alignment`). Kernels bind the whole buffer once and
 * receive offsets as uniforms, so a plan's bind groups never depend on where its values sit.
 *
 * The host cannot map it: `download` copies into a reused staging buffer and waits for mapAsync, and there is
 * no `readSync` — which is what sends the executor down its asynchronous path.
 */
export class GpuMemory implements DeviceMemory {
  readonly alignment: number;
  private buf: GPUBuffer;
  /** Bumped when the buffer is replaced by a larger one: kernels rebuild their bind groups. */
  generation = 0;
  private top: number;
  private peak: number;
  private freeBlocks: { start: number; end: number }[] = [];
  private sizes = new Map<number, number>();
  private staging: GPUBuffer | null = null;
  /** Downloads share the staging buffer: each waits for the one before it. */
  private reading: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly queue: GpuQueue,
    private readonly maxBytes: number,
    alignment: number,
  ) {
    this.alignment = Math.max(16, alignment);
    // Offset 0 stays unused: a region never starts at 0, so 0 can never be mistaken for a valid pointer.
    this.top = this.alignment;
    this.peak = this.top;
    this.buf = this.create(1 << 20);
  }

  get buffer(): GPUBuffer {
    return this.buf;
  }

  private create(size: number): GPUBuffer {
    return this.queue.device.createBuffer({ size, usage: STORAGE | COPY_SRC | COPY_DST, label: 'vireo memory' });
  }

  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, 4), this.alignment);
    const slot = this.freeBlocks.findIndex((b) => b.end - b.start >= size);
    let ptr: number;
    if (slot >= 0) {
      const block = this.freeBlocks[slot];
      ptr = block.start;
      if (block.end - block.start === size) this.freeBlocks.splice(slot, 1);
      else block.start += size;
    } else {
      ptr = this.top;
      this.top += size;
      if (this.top > this.buf.size) this.grow(this.top);
    }
    this.sizes.set(ptr, size);
    this.peak = Math.max(this.peak, this.top);
    return ptr;
  }

  /** A larger buffer with the old contents: only ever at plan time (binding, planning), never during a run. */
  private grow(minBytes: number): void {
    if (minBytes > this.maxBytes) {
      throw new VireoError(
        `webgpu: the model needs ${minBytes} bytes of device memory, more than this adapter's largest storage binding (${this.maxBytes} bytes)`,
      );
    }
    const size = Math.min(this.maxBytes, alignUp(Math.max(minBytes, this.buf.size * 2), 4));
    const next = this.create(size);
    this.queue.copy(this.buf, 0, next, 0, this.buf.size);
    this.queue.flush();
    this.buf.destroy();
    this.buf = next;
    this.generation++;
  }

  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    this.freeBlocks.push({ start: ptr, end: ptr + size });
    this.freeBlocks.sort((a, b) => a.start - b.start);
    const merged: { start: number; end: number }[] = [];
    for (const b of this.freeBlocks) {
      const last = merged[merged.length - 1];
      if (last && last.end === b.start) last.end = b.end;
      else merged.push({ ...b });
    }
    const tail = merged[merged.length - 1];
    if (tail && tail.end === this.top) {
      this.top = tail.start;
      merged.pop();
    }
    this.freeBlocks = merged;
  }

  upload(ptr: number, data: Float32Array): void {
    this.queue.write(this.buf, ptr, data);
  }

  download(ptr: number, length: number): Promise<Float32Array> {
    const next = this.reading.then(() => this.read(ptr, length));
    this.reading = next.catch(() => {});
    return next;
  }

  private async read(ptr: number, length: number): Promise<Float32Array> {
    const bytes = alignUp(Math.max(4 * length, 4), 4);
    if (!this.staging || this.staging.size < bytes) {
      this.staging?.destroy();
      this.staging = this.queue.device.createBuffer({
        size: alignUp(bytes, 256),
        usage: MAP_READ | COPY_DST,
        label: 'vireo staging',
      });
    }
    const staging = this.staging;
    this.queue.copy(this.buf, ptr, staging, 0, bytes);
    this.queue.flush();
    await staging.mapAsync(1, 0, bytes);
    this.queue.throwIfFailed();
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0, 4 * length));
    staging.unmap();
    return out;
  }

  /**
   * Copies within the buffer. WebGPU forbids copyBufferToBuffer from a buffer to itself, so this is a compute
   * kernel, installed by the backend once its programs exist (`copier`).
   */
  copier: ((src: number, dst: number, floats: number) => void) | null = null;

  copy(src: number, dst: number, bytes: number): void {
    if (!this.copier) throw new Error('internal: webgpu memory has no copy kernel');
    this.copier(src, dst, Math.ceil(bytes / 4));
  }

  fill(ptr: number, length: number, value: number): void {
    this.queue.write(this.buf, ptr, new Float32Array(length).fill(value));
  }

  get highWater(): number {
    return this.peak;
  }

  get bytesInUse(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }

  destroy(): void {
    this.staging?.destroy();
    this.staging = null;
    this.buf.destroy();
  }
}
