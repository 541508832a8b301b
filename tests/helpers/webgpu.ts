import { getBackend } from '../../src/index.js';
import type { Backend } from '../../src/backends/backend.js';

/**
 * Whether the WebGPU suites run: vitest.config.ts sets VIREO_TEST_WEBGPU when SwiftShader is installed
 * (chromium), or a GPU machine sets it by hand. When it is set, a WebGPU backend that fails to load fails
 * the tests — it never turns them into skips.
 */
export const webgpuUnderTest = !!process.env.VIREO_TEST_WEBGPU;

export function loadWebGpu(): Promise<Backend> {
  return getBackend('webgpu');
}

/**
 * Ops the WebGPU backend has no kernel for (docs/webgpu.md): dropout masks come from a sequential generator
 * every backend must match draw for draw; constant, the ONNX breadth ops (reduce, expand, slice, layer
 * norm) and the backward of unary are not written yet. Placement runs them
 * elsewhere, with copy steps. The forward suite checks this list is exactly what the table lacks.
 */
export const webgpuMissingOps = new Set([
  'dropout',
  'dropoutMask',
  'constant',
  'unaryGrad',
  'reduce',
  'expand',
  'slice',
  'layerNorm',
  'layerNormGradInput',
  'layerNormGradWeight',
  'where',
  'gather',
  'binaryGrad',
  'whereGrad',
  'gatherGrad',
  'reduceMaxGrad',
]);
