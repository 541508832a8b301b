import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { backendsUnderTest, loadBackend, oneThreadTwin } from './helpers/backends.js';
import { expectClose, expectSameBits } from './helpers/random.js';
import { caseInputs, caseParams, runCase } from './helpers/single-op.js';
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
    // A threaded configuration must give its build's one-thread result bit for bit.
    const twin = (b.threads ?? 1) > 1 ? oneThreadTwin(b) : undefined;
    let twinBackend: Backend | undefined;
    beforeAll(async () => {
      backend = await loadBackend(b);
      if (twin) twinBackend = await loadBackend(twin);
    });
    for (const c of opCases) {
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
