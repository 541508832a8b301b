import type { Backend } from '../../src/backends/backend.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/index.js';
import { expectClose } from './random.js';
import { type OpCase, caseInputs, caseParams, runCase, runCaseAsync } from './single-op.js';

/**
 * Runs one op case on webgpu, checks it against the reference backend, and returns how many pipelines it
 * compiled: the tests that keep shapes out of WGSL (a shape baked into the source would compile again) and
 * show every shape's uniforms are filled right (a wrong one would give a wrong result, not only a count).
 */
export async function pipelinesCompiledBy(gpu: WebGpuBackend, reference: Backend, c: OpCase): Promise<number> {
  const before = gpu.pipelinesCompiled;
  const params = caseParams(c);
  const inputs = caseInputs(c);
  const want = runCase(c, reference, params, inputs);
  const got = await runCaseAsync(c, gpu, params, inputs);
  expectClose(got, want, 1e-5, 1e-4, `${c.name} on webgpu`);
  return gpu.pipelinesCompiled - before;
}
