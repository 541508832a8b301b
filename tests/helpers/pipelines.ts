import { expect, it } from 'vitest';
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

/** Op cases of one kernel kind at different shapes: they must share the first case's pipelines. */
export interface PipelineFamily {
  name: string;
  cases: OpCase[];
}

/**
 * One test per family: every case equal to the reference, and only the first compiling anything (`compiles`
 * is pipelinesCompiledBy on the suite's backends, read when the test runs).
 */
export function itCompilesOncePerFamily(families: readonly PipelineFamily[], compiles: (c: OpCase) => Promise<number>): void {
  for (const family of families) {
    it(`${family.name}: ${family.cases.length} shapes, every one equal to the reference, compiled once`, async () => {
      await compiles(family.cases[0]);
      for (const c of family.cases.slice(1)) expect(await compiles(c), `${c.name} compiled new pipelines`).toBe(0);
    });
  }
}
