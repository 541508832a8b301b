/// <reference types="@webgpu/types" />
import { alignUp } from '../../core/align.js';
import { VireoError } from '../../core/errors.js';
import type { DeviceMemory } from '../backend.js';
import { FirstFit } from '../first-fit.js';
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
  private readonly blocks: FirstFit;
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
    this.blocks = new FirstFit(this.alignment, this.alignment, 4);
    this.buf = this.create(1 << 20);
  }

  get buffer(): GPUBuffer {
    return this.buf;
  }

  private create(size: number): GPUBuffer {
    return this.queue.device.createBuffer({ size, usage: STORAGE | COPY_SRC | COPY_DST, label: 'vireo memory' });
  }

  alloc(bytes: number): number {
    return this.blocks.alloc(bytes, (top) => {
      if (top > this.buf.size) this.grow(top);
    });
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
    this.blocks.free(ptr);
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
    this.queue.throwIfFailed();
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
    try {
      await staging.mapAsync(1, 0, bytes);
    } catch (e) {
      // A lost device rejects the map; say that (the loss report may arrive just after the rejection).
      this.queue.throwIfFailed();
      throw e;
    }
    this.queue.throwIfFailed();
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0, 4 * length));
    staging.unmap();
    return out;
  }

  /**
   * The float at `ptr` as it is now: the copy into a small buffer of its own is recorded at once, so work
   * recorded later cannot change it; awaiting the result submits and maps (a lazy clip norm reads nothing
   * until someone asks).
   */
  readLater(ptr: number): () => Promise<number> {
    const target = this.queue.device.createBuffer({ size: 16, usage: MAP_READ | COPY_DST, label: 'vireo scalar' });
    this.queue.copy(this.buf, ptr, target, 0, 4);
    let value: Promise<number> | null = null;
    return () => {
      value ??= (async () => {
        this.queue.throwIfFailed();
        this.queue.flush();
        try {
          await target.mapAsync(1, 0, 4);
        } catch (e) {
          this.queue.throwIfFailed();
          throw e;
        }
        this.queue.throwIfFailed();
        const out = new Float32Array(target.getMappedRange(0, 4).slice(0))[0];
        target.destroy();
        return out;
      })();
      return value;
    };
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
    return this.blocks.highWater;
  }

  get bytesInUse(): number {
    return this.blocks.bytesInUse;
  }

  destroy(): void {
    this.staging?.destroy();
    this.staging = null;
    this.buf.destroy();
  }
}
