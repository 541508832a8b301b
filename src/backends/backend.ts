import type { Shape } from '../core/shape.js';
import type { OpAttrs, OpName } from '../ops/types.js';

/**
 * A backend's memory, opaque to everything above the backend: regions are byte offsets that only the
 * backend's own kernels read or write. The executor moves data through this interface alone, so a
 * memory the host cannot map (a GPU's) fits the same contract: `download` is asynchronous, and only a
 * memory the host can read directly offers `readSync`.
 */
export interface DeviceMemory {
  /** Byte alignment of every region and of every offset a kernel may be given (wasm 16; WebGPU 256). */
  readonly alignment: number;
  alloc(bytes: number): number;
  free(ptr: number): void;
  /** Writes host floats at `ptr`. */
  upload(ptr: number, data: Float32Array): void;
  /** Reads `length` floats at `ptr` into a new host array. */
  download(ptr: number, length: number): Promise<Float32Array>;
  /** Host-readable memories (wasm, reference) only: the same as `download`, synchronously, into `into` when given. */
  readSync?(ptr: number, length: number, into?: Float32Array): Float32Array;
  /** Copies `bytes` within this memory (regions may not overlap). */
  copy(src: number, dst: number, bytes: number): void;
  /** Writes `length` copies of `value` at `ptr`. */
  fill(ptr: number, length: number, value: number): void;
  /** Highest byte ever handed out: constant across warm steps (tests prove a warm step allocates nothing). */
  readonly highWater: number;
  readonly bytesInUse: number;
}

/**
 * A parameter as a kernel sees it: an offset in the kernel's backend memory, valid when read (the
 * executor keeps it current), and a way to say the kernel changed it on the device (BatchNorm's
 * running statistics).
 */
export interface ParamHandle {
  readonly ptr: number;
  readonly size: number;
  readonly shape: Shape;
  /** The kernel wrote new values at `ptr`. */
  changed(): void;
}

/** What a kernel factory sees at plan time: the op, its attributes, its parameters and its concrete shapes. */
export interface KernelContext<K extends OpName = OpName> {
  op: K;
  /** The layer's state-dict path, for error messages. */
  name: string;
  attrs: OpAttrs[K];
  params: Readonly<Record<string, ParamHandle>>;
  inputShapes: Shape[];
  outputShape: Shape;
}

/**
 * A kernel bound to one op application and shape. Buffers are byte offsets into the backend's memory;
 * the kernel may keep packed parameters of its own (allocated at plan time, refreshed by `pack`).
 */
export interface PreparedKernel {
  /** Scratch bytes needed during `run` (im2col panels and the like); shared across a plan's steps. */
  scratchBytes: number;
  /** (Re)writes packed parameters from the parameter handles; called when a parameter's version changes. */
  pack?(): void;
  run(inputs: readonly number[], output: number, scratch: number): void;
  dispose?(): void;
  /**
   * Settles when the kernel can run (a GPU kernel's pipelines compile asynchronously at plan time). The
   * executor's asynchronous path awaits every step's `ready` once before the first run.
   */
  ready?: Promise<void>;
}

export type KernelFactory<K extends OpName = OpName> = (ctx: KernelContext<K>) => PreparedKernel;

/** A backend's kernels by op. A partial table is normal: "can this backend run op X" is a lookup. */
export type KernelTable = { [K in OpName]?: KernelFactory<K> };

/**
 * In-place updates of parameters, gradients and optimizer state in a backend's memory (pointers are byte
 * offsets, `n` floats each). Gradient accumulation, the optimizers and gradient clipping run here, on the
 * device that holds the parameters, so a training step never round-trips them through the host.
 */
export interface UpdateKernels {
  /** dst = src (`add` false) or dst += src. */
  accumulate(src: number, dst: number, n: number, add: boolean): void;
  /** torch.optim.SGD's update; `buf` unused when momentum is 0. */
  sgd(
    p: number,
    g: number,
    buf: number,
    n: number,
    lr: number,
    momentum: number,
    dampening: number,
    weightDecay: number,
    nesterov: boolean,
    first: boolean,
  ): void;
  /** torch.optim.Adam / AdamW's update; `vmax` is -1 without amsgrad. */
  adam(
    p: number,
    g: number,
    m: number,
    v: number,
    vmax: number,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    decoupled: boolean,
    stepSize: number,
    bc2Sqrt: number,
  ): void;
  /** acc + Σ g² in float64, summed in index order onto `acc` (clipGradNorm's 2-norm, one running sum over every tensor). */
  sumSquares(g: number, n: number, acc: number): number;
  /** max |g| (NaN wins, as torch.max). */
  maxAbs(g: number, n: number): number;
  /** g = f32(g · coef), the product in float64. */
  scale(g: number, n: number, coef: number): void;
  /** g = clamp(g, −value, value). */
  clamp(g: number, n: number, value: number): void;
  /**
   * Memories the host cannot read synchronously (WebGPU): clipGradNorm on the device, reading nothing.
   * Adds Σg² (normType 2) or folds max|g| (Infinity, NaN wins) of `g` into the 1-float region `acc`
   * (`first` starts it); `finishNorm` turns the sum into the norm in place.
   */
  accumulateNorm?(g: number, n: number, acc: number, normType: number, first: boolean): void;
  finishNorm?(acc: number, normType: number): void;
  /** g = g · maxNorm / (norm + 1e-6) when that factor is below 1, the norm read from `acc` on the device. */
  scaleByNorm?(g: number, n: number, acc: number, maxNorm: number): void;
  /** The float at `ptr` as it is now: the copy is recorded at once, the read happens when awaited. */
  readLater?(ptr: number): () => Promise<number>;
}

export interface BackendInfo {
  name: string;
  /** For wasm: 'simd' | 'relaxed' | 'scalar'. */
  build?: string;
  features?: Record<string, boolean>;
  /** webgpu: the adapter vireo runs on, its features and the limits vireo uses. */
  adapter?: { vendor: string; architecture: string; device: string; description: string };
  adapterFeatures?: string[];
  limits?: Record<string, number>;
  /** For wasm: the threads kernels run on, and why that many. */
  threads?: number;
  threadsReason?: string;
}

export interface Backend {
  readonly name: string;
  readonly memory: DeviceMemory;
  readonly kernels: KernelTable;
  readonly updates: UpdateKernels;
  info(): BackendInfo;
  /** Backends that hold a device (WebGPU) release it here; see disposeBackend. */
  dispose?(): void;
  /** Backends that hold a device: why it was lost (null while it works). Its memory is gone once set. */
  readonly deviceLost?: string | null;
  /**
   * After a failure: waits briefly for the device's own loss report (a read can fail before the device says
   * it was lost) and answers whether the device is lost.
   */
  confirmDeviceLost?(): Promise<boolean>;
}

/** Whether `backend` has a kernel for `op`: what placement and the scheduler ask. */
export function hasKernel(backend: Backend, op: OpName): boolean {
  return typeof backend.kernels[op] === 'function';
}
