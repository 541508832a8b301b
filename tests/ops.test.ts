import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { backendsUnderTest, loadBackend } from './helpers/backends.js';
import { expectClose } from './helpers/random.js';
import { caseInputs, caseParams, runCase, runCaseAsync } from './helpers/single-op.js';
import { loadWebGpu, webgpuMissingOps, webgpuUnderTest } from './helpers/webgpu.js';
import { opCases } from './cases/ops.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';

const reference = createReferenceBackend();
const expected = new Map(
  opCases.map((c) => {
    const params = caseParams(c);
    const inputs = caseInputs(c);
    return [c.name, { params, inputs, output: runCase(c, reference, params, inputs) }];
  }),
);

for (const b of backendsUnderTest.filter((b) => b.name !== 'reference')) {
  describe(`ops on ${b.label} match the reference`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await loadBackend(b);
    });
    for (const c of opCases) {
      const skipped = c.skip?.includes(b.label);
      it.skipIf(skipped)(c.name, () => {
        const e = expected.get(c.name);
        if (!e) throw new Error('missing reference result');
        const out = runCase(c, backend, e.params, e.inputs);
        expect(out.length).toBe(e.output.length);
        expectClose(out, e.output, 1e-5, 1e-4, `${c.name} on ${b.label}`);
      });
    }
  });
}

// WebGPU (SwiftShader in CI, small shapes): every forward case but the ops it leaves to other backends.
describe.runIf(webgpuUnderTest)('ops on webgpu match the reference', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await loadWebGpu();
  });
  for (const c of opCases.filter((c) => !webgpuMissingOps.has(c.op) && !c.skip?.includes('webgpu'))) {
    it(c.name, async () => {
      const e = expected.get(c.name);
      if (!e) throw new Error('missing reference result');
      const out = await runCaseAsync(c, backend, e.params, e.inputs);
      expect(out.length).toBe(e.output.length);
      expectClose(out, e.output, 1e-5, 1e-4, `${c.name} on webgpu`);
    });
  }
  it('has a kernel for every forward op of the cases except the ones it leaves to other backends', () => {
    for (const c of opCases) expect(typeof backend.kernels[c.op] === 'function', c.op).toBe(!webgpuMissingOps.has(c.op));
  });
});
