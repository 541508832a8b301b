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
 * Ops the WebGPU backend has no kernel for: none (docs/webgpu.md). Kept as a set, empty, so that an op added
 * to the table later without a WGSL kernel shows up in the forward suite's coverage check, which asserts
 * this list is exactly what the table lacks.
 */
export const webgpuMissingOps = new Set<string>();
