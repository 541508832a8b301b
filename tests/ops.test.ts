import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { backendsUnderTest, loadBackend } from './helpers/backends.js';
import { expectClose } from './helpers/random.js';
import { caseInputs, caseParams, runCase } from './helpers/single-op.js';
import { opCases } from './cases/ops.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';
import { borrowsReferenceCode } from './cases/borrowed.js';

// Cases whose wasm kernel is the reference's code are checked against PyTorch in tensor-ops-torch.test.ts.
const cases = opCases.filter((c) => !borrowsReferenceCode(c));
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
    beforeAll(async () => {
      backend = await loadBackend(b);
    });
    for (const c of cases) {
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
