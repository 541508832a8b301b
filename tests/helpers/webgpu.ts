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
