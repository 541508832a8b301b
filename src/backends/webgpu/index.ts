/// <reference types="@webgpu/types" />
import type { Backend, BackendInfo, KernelTable } from '../backend.js';
import { type BackendOptions, forgetInstance, registerBackend } from '../registry.js';
import { type GpuHandle, type WebGpuOptions, acquireDevice } from './device.js';
import { breadthKernels } from './kernels/breadth.js';
import { batchNorm2dGradInputWebGpu, batchNorm2dGradWeightWebGpu, batchNorm2dWebGpu } from './kernels/batchnorm.js';
import { conv2dGradInputWebGpu, conv2dGradWeightWebGpu, conv2dWebGpu } from './kernels/conv2d.js';
import * as ew from './kernels/elementwise.js';
import * as onnx from './kernels/onnx-ops.js';
import { biasGradWebGpu, linearGradInputWebGpu, linearGradWeightWebGpu, linearWebGpu } from './kernels/linear.js';
import * as pool from './kernels/pool2d.js';
import { GpuMemory } from './memory.js';
import { type GpuContext, createContext } from './program.js';
import { GpuQueue } from './queue.js';
import { webGpuUpdates } from './updates.js';

export type { WebGpuOptions } from './device.js';

/** The WebGPU backend: vireo's own WGSL kernels over one storage buffer; also how to let the process exit. */
export interface WebGpuBackend extends Backend {
  readonly gpu: GpuHandle;
  readonly queue: GpuQueue;
  /** Destroys the device and drops the Dawn instance (Node exits on its own afterwards). Idempotent. */
  dispose(): void;
  /** Why the device was lost (null while it works). */
  readonly deviceLost: string | null;
  confirmDeviceLost(): Promise<boolean>;
  /**
   * Tests only: destroys the device and runs exactly the handling of an unexpected loss (Dawn reports an
   * explicit destroy as reason 'destroyed', which a dispose() must not count as a loss).
   */
  simulateDeviceLoss(): void;
  /**
   * Compute pipelines compiled on this device so far. Pipelines are shared by WGSL source, and shapes
   * travel as uniforms, so this counts distinct kernel *codes* (op, tile, activation…), not shapes.
   */
  readonly pipelinesCompiled: number;
  /** The device context the kernels share: for tests and tools that build kernels with non-default options. */
  readonly context: GpuContext;
}

/**
 * Ops with a WGSL kernel: every op of the op table (reshape and flatten are aliases and run none). Dropout's
 * mask is drawn on the host by the generator every backend shares (kernels/dropout.ts says why).
 */
function kernelTable(ctx: ReturnType<typeof createContext>): KernelTable {
  return {
    conv2d: conv2dWebGpu(ctx),
    linear: linearWebGpu(ctx),
    activation: ew.activationWebGpu(ctx),
    add: ew.addWebGpu(ctx),
    softmax: ew.softmaxWebGpu(ctx),
    batchNorm2d: batchNorm2dWebGpu(ctx),
    maxPool2d: pool.maxPool2dWebGpu(ctx),
    avgPool2d: pool.avgPool2dWebGpu(ctx),
    adaptiveAvgPool2d: pool.adaptiveAvgPool2dWebGpu(ctx),
    conv2dGradInput: conv2dGradInputWebGpu(ctx),
    conv2dGradWeight: conv2dGradWeightWebGpu(ctx),
    linearGradInput: linearGradInputWebGpu(ctx),
    linearGradWeight: linearGradWeightWebGpu(ctx),
    biasGrad: biasGradWebGpu(ctx),
    activationGrad: ew.activationGradWebGpu(ctx),
    mul: ew.mulWebGpu(ctx),
    softmaxGrad: ew.softmaxGradWebGpu(ctx),
    batchNorm2dGradInput: batchNorm2dGradInputWebGpu(ctx),
    batchNorm2dGradWeight: batchNorm2dGradWeightWebGpu(ctx),
    maxPool2dGrad: pool.maxPool2dGradWebGpu(ctx),
    avgPool2dGrad: pool.avgPool2dGradWebGpu(ctx),
    adaptiveAvgPool2dGrad: pool.adaptiveAvgPool2dGradWebGpu(ctx),
    binary: onnx.binaryWebGpu(ctx),
    unary: onnx.unaryWebGpu(ctx),
    concat: onnx.concatWebGpu(ctx),
    transpose: onnx.transposeWebGpu(ctx),
    pad: onnx.padWebGpu(ctx),
    matmul: onnx.matmulWebGpu(ctx),
    ...breadthKernels(ctx),
  };
}

export async function createWebGpuBackend(options: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const gpu = await acquireDevice(options);
  const queue = new GpuQueue(gpu.device);
  const maxBytes = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  const memory = new GpuMemory(queue, maxBytes, gpu.limits.minStorageBufferOffsetAlignment);
  const ctx = createContext(gpu.device, queue, memory, gpu.limits.maxComputeWorkgroupsPerDimension);
  let disposed = false;
  const info = (): BackendInfo & {
    adapter: GpuHandle['adapterInfo'];
    limits: GpuHandle['limits'];
    adapterFeatures: string[];
  } => ({
    name: 'webgpu',
    build: 'wgsl',
    features: { f16: gpu.features.includes('shader-f16'), timestampQuery: gpu.features.includes('timestamp-query') },
    adapter: gpu.adapterInfo,
    adapterFeatures: gpu.features,
    limits: gpu.limits,
  });
  const backend: WebGpuBackend = {
    name: 'webgpu',
    memory,
    kernels: kernelTable(ctx),
    updates: webGpuUpdates(ctx),
    gpu,
    queue,
    info,
    context: ctx,
    get pipelinesCompiled() {
      return ctx.compiled;
    },
    get deviceLost() {
      return queue.lostReason;
    },
    async confirmDeviceLost() {
      if (queue.lostReason !== null) return true;
      // A failed read can come a moment before the device's own loss report.
      await Promise.race([gpu.device.lost, new Promise((r) => setTimeout(r, 250))]);
      return queue.lostReason !== null;
    },
    simulateDeviceLoss() {
      queue.markLost('destroyed: simulated device loss');
      gpu.device.destroy();
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      queue.close();
      if (queue.lostReason === null) queue.flush();
      memory.destroy();
      gpu.release();
    },
  };
  // A lost device never comes back: the next getBackend('webgpu') asks the adapter for a new one.
  queue.onLost(() => forgetInstance(backend));
  return backend;
}

registerBackend('webgpu', (options: BackendOptions) => createWebGpuBackend({ adapter: options.adapter }));
