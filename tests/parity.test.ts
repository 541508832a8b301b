import { describe, expect, it } from 'vitest';
import { tensor } from '../src/index.js';
import { type BackendUnderTest, gpuTargets, moveTo, oneThreadTwin, targetsUnderTest } from './helpers/backends.js';
import { parityFixtures, readFixture } from './helpers/models.js';
import { expectClose, expectSameBits } from './helpers/random.js';

/**
 * PyTorch parity: each fixture (tests/fixtures/<name>.safetensors, written by scripts/make_fixtures.py
 * from torch with a fixed seed) is loaded into the same model built with vireo's nn API, run in eval
 * mode, and compared with PyTorch's eval-mode output on the stored input.
 *
 * Tolerance, relative to the output's own scale: |vireo - torch| <= ATOL·max|torch| + RTOL·|torch|
 * elementwise. An absolute 1e-4 let a reference CNN logit (mean magnitude ~0.03) be off by 0.3%; float32
 * over these depths meets 1e-6 of the largest logit (measured), checked at 3e-6.
 */
const ATOL = 3e-6;
const RTOL = 1e-5;

for (const fixture of parityFixtures) {
  describe(`PyTorch parity: ${fixture.name}`, () => {
    const weights = readFixture(`${fixture.name}.safetensors`);
    const io = readFixture(`${fixture.name}.io.safetensors`).tensors;
    const input = io.get('__input__');
    const expected = io.get('__output__');
    if (!input || !expected) throw new Error(`${fixture.name}.io.safetensors lacks __input__ or __output__`);

    it("vireo's state-dict names and shapes are PyTorch's, in PyTorch's order", () => {
      const ours = fixture.build().stateDict();
      expect(Object.keys(ours)).toEqual([...weights.tensors.keys()]);
      for (const [name, t] of weights.tensors) expect(ours[name].shape, name).toEqual(t.shape);
      expect(weights.metadata.model).toBe(fixture.name);
    });

    // Outputs by configuration label: a threaded one must give its build's one-thread bits.
    const outputs = new Map<string, Float32Array[]>();
    for (const b of [...targetsUnderTest, ...gpuTargets]) {
      it(`eval output on ${b.label} matches PyTorch within ${ATOL}·max|y| + ${RTOL}·|y|`, async () => {
        const net = fixture.build();
        await moveTo(net, b);
        net.loadStateDict(weights.tensors);
        net.eval();
        // Every backend has every forward kernel these models use: a missing one fails here.
        const out = await net.forward(tensor(input.dataSync().slice(), input.shape));
        const atol = ATOL * Math.max(...expected.dataSync().map(Math.abs));
        try {
          expect(out.shape).toEqual(expected.shape);
          expectClose(await out.data(), expected.dataSync(), atol, RTOL, `${fixture.name} on ${b.label}`);
          // The compiled plan is reused: a second call gives the same values.
          const again = await net.forward(tensor(input.dataSync().slice(), input.shape));
          expect(Array.from(await again.data())).toEqual(Array.from(await out.data()));
          // Batch 1 compiles its own plan (other GEMM edge tiles): the first image alone gives the first row.
          const perImage = input.size / input.shape[0];
          const outPerImage = expected.size / expected.shape[0];
          const one = await net.forward(tensor(input.dataSync().slice(0, perImage), [1, ...input.shape.slice(1)]));
          expectClose(
            await one.data(),
            expected.dataSync().slice(0, outPerImage),
            atol,
            RTOL,
            `${fixture.name} batch 1 on ${b.label}`,
          );
          outputs.set(b.label, [await out.data(), await one.data()]);
          const twin = 'threads' in b && (b.threads ?? 1) > 1 ? oneThreadTwin(b as BackendUnderTest) : undefined;
          const base = twin && outputs.get(twin.label);
          if (twin && !base) throw new Error(`${twin.label} must run before ${b.label}`);
          if (base)
            outputs.get(b.label)?.forEach((v, i) => expectSameBits(v, base[i], `${fixture.name} on ${b.label} vs one thread`));
        } finally {
          net.releasePlans();
        }
      });
    }
  });
}
