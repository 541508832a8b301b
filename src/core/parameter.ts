import type { DeviceMemory } from '../backends/backend.js';
import { ShapeError, VireoError } from './errors.js';
import { type Shape, shapeToString, shapesEqual, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

/** Where a bound parameter lives: its values and (once a gradient exists there) its gradient. */
interface DeviceHome {
  memory: DeviceMemory;
  ptr: number;
  gradPtr: number;
}

/**
 * What the gradient is now: none; zero (after zeroGrad, not yet written anywhere: the next backward
 * pass copies instead of adding); on the host (`hostGrad` is the truth: the user read or set it);
 * on the device (`home.gradPtr` is the truth).
 */
type GradState = 'none' | 'zero' | 'host' | 'device';

/**
 * A named, trainable (or buffer) array owned by a module. Once a compiled model runs, the parameter is
 * bound to the memory of the backend its layer runs on: the values, the gradient and (in the optimizer)
 * its state live there, and the host copy is refreshed only when someone reads `values` or `grad`.
 *
 * The rule that keeps the two copies coherent: whoever writes says so. Host writers change `values` in
 * place and call `markChanged()` (or use `set`), or assign `grad`; device writers (an optimizer kernel,
 * BatchNorm's running statistics) call `markDeviceChanged()`. Reading `grad` hands the host a copy it
 * may change in place, so the next device use of the gradient takes that copy back first.
 * `version` moves on every change: kernels that keep packed copies repack when it does.
 */
export class Parameter {
  readonly shape: Shape;
  readonly size: number;
  requiresGrad: boolean;
  /** 'int64' only for PyTorch's integer buffers (num_batches_tracked); stored as float here. */
  readonly dtype: 'float32' | 'int64';
  /** True for buffers (running statistics): saved in the state dict, never trained. */
  readonly isBuffer: boolean;
  version = 0;
  private host: Float32Array;
  private hostCurrent = true;
  private deviceCurrent = false;
  private home: DeviceHome | null = null;
  private hostGrad: Float32Array | null = null;
  private gradState: GradState = 'none';

  constructor(
    shape: Shape,
    options: { requiresGrad?: boolean; isBuffer?: boolean; dtype?: 'float32' | 'int64'; values?: Float32Array } = {},
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.host = options.values ?? new Float32Array(this.size);
    this.isBuffer = options.isBuffer ?? false;
    this.requiresGrad = options.requiresGrad ?? !this.isBuffer;
    this.dtype = options.dtype ?? 'float32';
  }

  /** The values on the host (downloaded first when the device holds newer ones). Call `markChanged()` after writing. */
  get values(): Float32Array {
    if (!this.hostCurrent) this.pull();
    return this.host;
  }

  private pull(): void {
    const home = this.home as DeviceHome;
    if (!home.memory.readSync) {
      throw new VireoError(
        'parameter values live on a device the host cannot read synchronously: await model.syncToHost() first',
      );
    }
    home.memory.readSync(home.ptr, this.size, this.host);
    this.hostCurrent = true;
  }

  /** The host copy is current (no download needed to read `values`; and no device gradient the host has not seen). */
  get hostCurrentNow(): boolean {
    return this.hostCurrent && this.gradState !== 'device';
  }

  /**
   * For memories the host cannot map (WebGPU): downloads the values when the device holds newer ones, and
   * the gradient when it lives on the device, so the synchronous readers (`values`, `grad`, state dicts)
   * work. The device copies stay current; the gradient becomes the host's (the next device use uploads it).
   */
  async syncToHost(): Promise<void> {
    const home = this.home;
    if (!home || home.memory.readSync) return;
    if (!this.hostCurrent) {
      this.host.set(await home.memory.download(home.ptr, this.size));
      this.hostCurrent = true;
    }
    if (this.gradState === 'device') {
      this.hostGrad = await home.memory.download(home.gradPtr, this.size);
      this.gradState = 'host';
    }
  }

  /** Copies values in (shape checked) and marks the parameter changed. */
  set(values: Float32Array | Tensor, what = 'parameter'): void {
    const array = values instanceof Tensor ? values.dataSync() : values;
    if (values instanceof Tensor && !shapesEqual(values.shape, this.shape)) {
      throw new ShapeError(`${what}: expected shape ${shapeToString(this.shape)}, got ${shapeToString(values.shape)}`);
    }
    if (array.length !== this.size) {
      throw new ShapeError(`${what}: expected ${this.size} values (${shapeToString(this.shape)}), got ${array.length}`);
    }
    this.values.set(array);
    this.markChanged();
  }

  /** Call after changing `values` in place on the host. */
  markChanged(): void {
    if (!this.hostCurrent) this.pull();
    this.version++;
    this.deviceCurrent = false;
  }

  /** Call after a kernel changed the values in device memory. */
  markDeviceChanged(): void {
    this.version++;
    this.hostCurrent = false;
    this.deviceCurrent = true;
  }

  toTensor(): Tensor {
    return new Tensor(this.values.slice(), this.shape, { integer: this.dtype === 'int64' });
  }

  /** The memory the parameter is bound to (null: host only). */
  get memory(): DeviceMemory | null {
    return this.home?.memory ?? null;
  }

  /**
   * The parameter's values in `memory`, current: binds it there on first use (moving it from another
   * memory through the host) and uploads host changes. Returns the byte offset.
   */
  deviceValues(memory: DeviceMemory): number {
    if (this.home?.memory !== memory) this.bind(memory);
    const home = this.home as DeviceHome;
    if (!this.deviceCurrent) {
      home.memory.upload(home.ptr, this.host);
      this.deviceCurrent = true;
    }
    return home.ptr;
  }

  private bind(memory: DeviceMemory): void {
    this.unbind();
    this.home = { memory, ptr: memory.alloc(4 * this.size), gradPtr: -1 };
    this.deviceCurrent = false;
  }

  /** Brings values and gradient back to the host and frees the device copy (a model moving to another backend). */
  unbind(): void {
    const home = this.home;
    if (!home) return;
    if (!this.hostCurrent) this.pull();
    if (this.gradState === 'device') {
      this.pullGrad();
      this.gradState = 'host';
    }
    home.memory.free(home.ptr);
    if (home.gradPtr >= 0) home.memory.free(home.gradPtr);
    this.home = null;
    this.deviceCurrent = false;
  }

  /**
   * The device holding this parameter was lost: drops the device copy without reading it (its memory is
   * gone). Returns false when the host copy is older than the lost values (trained since the last sync);
   * the caller then restores values from its own copy. A gradient that lived on the device is dropped too.
   */
  forgetDevice(memory: DeviceMemory): boolean {
    const home = this.home;
    if (!home || home.memory !== memory) return true;
    const current = this.hostCurrent;
    this.home = null;
    this.hostCurrent = true;
    this.deviceCurrent = false;
    if (this.gradState === 'device') {
      this.hostGrad = null;
      this.gradState = 'none';
    }
    return current;
  }

  /** The gradient on the host (a copy of the device's; change it in place freely), or null. */
  get grad(): Float32Array | null {
    switch (this.gradState) {
      case 'none':
        return null;
      case 'zero':
        if (this.hostGrad) this.hostGrad.fill(0);
        else this.hostGrad = new Float32Array(this.size);
        break;
      case 'device':
        this.pullGrad();
        break;
      case 'host':
        break;
    }
    this.gradState = 'host';
    return this.hostGrad;
  }

  set grad(g: Float32Array | null) {
    if (g !== null && g.length !== this.size) {
      throw new ShapeError(`gradient: expected ${this.size} values (${shapeToString(this.shape)}), got ${g.length}`);
    }
    this.hostGrad = g;
    this.gradState = g === null ? 'none' : 'host';
  }

  private pullGrad(): void {
    const home = this.home as DeviceHome;
    this.hostGrad ??= new Float32Array(this.size);
    if (!home.memory.readSync) throw new VireoError('gradient lives on a device the host cannot read synchronously');
    home.memory.readSync(home.gradPtr, this.size, this.hostGrad);
  }

  /** 'none' (no gradient), 'zero' (zeroed, not written since) or 'set': what a retried backward must restore. */
  get gradStatus(): 'none' | 'zero' | 'set' {
    return this.gradState === 'none' || this.gradState === 'zero' ? this.gradState : 'set';
  }

  /** True when a gradient exists (without copying it to the host). */
  get hasGrad(): boolean {
    return this.gradState !== 'none';
  }

  /** optimizer.zeroGrad(): keeps a gradient (all zeros) without writing memory; the next backward copies into it. */
  zeroGrad(): void {
    if (this.gradState !== 'none') this.gradState = 'zero';
  }

  /**
   * Where the backward pass writes this parameter's gradient in `memory`, and whether it adds to what is
   * there (false: no gradient yet, or zeroed). The caller writes it and then calls `gradWritten()`.
   */
  gradTarget(memory: DeviceMemory): { ptr: number; add: boolean } {
    const ptr = this.gradPtrIn(memory);
    if (this.gradState === 'none' || this.gradState === 'zero') return { ptr, add: false };
    if (this.gradState === 'host') memory.upload(ptr, this.hostGrad as Float32Array);
    return { ptr, add: true };
  }

  gradWritten(): void {
    this.gradState = 'device';
  }

  /** The gradient in `memory`, current (for optimizers and clipping), or -1 when there is none. */
  deviceGrad(memory: DeviceMemory): number {
    if (this.gradState === 'none') return -1;
    const ptr = this.gradPtrIn(memory);
    if (this.gradState === 'zero') memory.fill(ptr, this.size, 0);
    else if (this.gradState === 'host') memory.upload(ptr, this.hostGrad as Float32Array);
    this.gradState = 'device';
    return ptr;
  }

  /** Allocates the gradient's device buffer ahead of the first backward pass (plans do, so a run allocates nothing). */
  reserveGrad(memory: DeviceMemory): void {
    this.gradPtrIn(memory);
  }

  private gradPtrIn(memory: DeviceMemory): number {
    if (this.home?.memory !== memory) this.deviceValues(memory);
    const home = this.home as DeviceHome;
    if (home.gradPtr < 0) home.gradPtr = memory.alloc(4 * this.size);
    return home.gradPtr;
  }
}
