import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// WebGPU tests run on SwiftShader (a CPU Vulkan that Debian's chromium ships) when no GPU driver is set:
// the Vulkan loader is found through LD_LIBRARY_PATH, which only takes effect in processes started after it
// is set — the test workers forked below inherit it.
const chromium = '/usr/lib/chromium';
if (!process.env.VK_ICD_FILENAMES && existsSync(`${chromium}/vk_swiftshader_icd.json`)) {
  process.env.VK_ICD_FILENAMES = `${chromium}/vk_swiftshader_icd.json`;
  process.env.LD_LIBRARY_PATH = [process.env.LD_LIBRARY_PATH, chromium].filter(Boolean).join(':');
}
// A Vulkan driver named (SwiftShader above, or a GPU's by hand): the WebGPU suites run, and fail rather than skip.
if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  process.env.VIREO_TEST_WEBGPU ??= '1';
}

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/helpers/yield-between-tests.ts'],
    // The default report, then one plain 'vitest: N passed, N failed, N skipped' line for log readers.
    reporters: ['default', './tests/helpers/summary-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Kernel tests are CPU-bound; two workers match this 2-core machine.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
