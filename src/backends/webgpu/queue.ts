/// <reference types="@webgpu/types" />

/**
 * Batches a run's work into few submits: kernels record dispatches into one open compute pass, copies
 * into the same encoder, and everything is submitted at the next sync point. queue.writeBuffer is ordered
 * only against submitted work, so every write flushes first — otherwise a dispatch recorded earlier
 * would read data written after it.
 */
export class GpuQueue {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Submits so far (tests and the bench read it: a warm run should submit a handful, not one per kernel). */
  submits = 0;

  /** The first error the device reported outside an error scope (a validation error). */
  private failure: string | null = null;
  /** Why the device was lost, for good: every later read fails at once (null while it works). */
  lostReason: string | null = null;
  private closing = false;
  private readonly lostListeners: ((reason: string) => void)[] = [];

  constructor(readonly device: GPUDevice) {
    // Dawn reports validation errors asynchronously; keep the first and fail the next read with it rather
    // than returning stale data.
    device.addEventListener('uncapturederror', (e) => {
      if (this.lostReason === null) this.failure ??= (e as GPUUncapturedErrorEvent).error.message;
    });
    // Any loss but our own dispose() counts — including reason 'destroyed', which is also what Dawn reports
    // when something else destroyed the device under us.
    device.lost.then((info) => {
      if (!this.closing) this.markLost(`${info.reason || 'unknown'}${info.message ? `: ${info.message}` : ''}`);
    });
  }

  /** Records a loss (once) and tells the listeners: the backend forgets itself, models move to wasm. */
  markLost(reason: string): void {
    if (this.lostReason !== null) return;
    this.lostReason = reason;
    for (const listener of this.lostListeners) listener(reason);
  }

  onLost(listener: (reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  /** Our own dispose is coming: the device's 'destroyed' report that follows is not a loss. */
  close(): void {
    this.closing = true;
  }

  /** Throws what the device reported since the last check (a validation error once; a loss every time). */
  throwIfFailed(): void {
    if (this.lostReason !== null) throw new Error(`webgpu device lost (${this.lostReason})`);
    if (this.failure === null) return;
    const message = this.failure;
    this.failure = null;
    throw new Error(`webgpu device error: ${message}`);
  }

  private openEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  dispatch(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, x: number, y: number): void {
    if (!this.pass) this.pass = this.openEncoder().beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    this.endPass();
    this.openEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  write(buffer: GPUBuffer, offset: number, data: Float32Array | Uint32Array): void {
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.submits++;
  }
}
