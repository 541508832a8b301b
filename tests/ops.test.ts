import { readFileSync, readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { backendsUnderTest, loadBackend, oneThreadTwin } from './helpers/backends.js';
import { expectClose, expectSameBits } from './helpers/random.js';
import { caseInputs, caseParams, runCase, runCaseAsync } from './helpers/single-op.js';
import { loadWebGpu, webgpuMissingOps, webgpuUnderTest } from './helpers/webgpu.js';
import { opCases } from './cases/ops.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';

const cases = opCases;

/**
 * A wasm kernel that ran the reference's own kernel code would make its comparison below code against
 * itself (until issue 16 about 45 cases did: constant, concat, transpose, pad, matmul, unaryGrad, general
 * broadcasts). The wasm backend may share shape helpers with the reference, never a kernel factory (the
 * reference's are named *Generic or imported wholesale); an op that must borrow one needs an independent
 * oracle instead, as tests/tensor-ops-torch.test.ts gives the tensor ops.
 */
describe('the wasm backend runs kernels of its own', () => {
  it('no wasm source imports a reference kernel factory', () => {
    const dir = new URL('../src/backends/wasm/', import.meta.url);
    const borrowed: string[] = [];
    for (const f of readdirSync(dir, { recursive: true }) as string[]) {
      if (!f.endsWith('.ts')) continue;
      const text = readFileSync(new URL(f, dir), 'utf8');
      for (const m of text.matchAll(/import\s+([^;]*?)\s+from\s+'([^']*reference[^']*)'/g)) {
        const names = m[1];
        if (/\*\s+as\b/.test(names) || /\w+Generic\b/.test(names)) borrowed.push(`${f}: import ${names} from '${m[2]}'`);
      }
    }
    expect(borrowed).toEqual([]);
  });
});
const reference = createReferenceBackend();
const expected = new Map(
  cases.map((c) => {
    const params = caseParams(c);
    const inputs = caseInputs(c);
    return [c.name, { params, inputs, output: runCase(c, reference, params, inputs) }];
  }),
);

for (const b of backendsUnderTest.filter((b) => b.name !== 'reference')) {
  describe(`ops on ${b.label} match the reference`, () => {
    let backend: Backend;
    // A threaded configuration must give its build's one-thread result bit for bit.
    const twin = (b.threads ?? 1) > 1 ? oneThreadTwin(b) : undefined;
    let twinBackend: Backend | undefined;
    beforeAll(async () => {
      backend = await loadBackend(b);
      if (twin) twinBackend = await loadBackend(twin);
    });
    for (const c of cases) {
      const skipped = c.skip?.includes(b.label);
      it.skipIf(skipped)(c.name, () => {
        const e = expected.get(c.name);
        if (!e) throw new Error('missing reference result');
        const out = runCase(c, backend, e.params, e.inputs);
        expect(out.length).toBe(e.output.length);
        expectClose(out, e.output, 1e-5, 1e-4, `${c.name} on ${b.label}`);
        if (twinBackend) expectSameBits(out, runCase(c, twinBackend, e.params, e.inputs), `${c.name}: ${b.label} vs one thread`);
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
