import { describe, expect, it } from 'vitest';
import { type Tensor, tensor } from '../src/index.js';
import { backendsUnderTest } from './helpers/backends.js';
import { parityFixtures, readFixture } from './helpers/models.js';
import { expectClose } from './helpers/random.js';

/**
 * Backward parity with PyTorch's autograd (fixtures from scripts/make_grad_fixtures.py): training-mode
 * output, every parameter's gradient of L = Σ r·y, and the buffers after the step (running statistics
 * with the momentum rule, num_batches_tracked). Dropout stays in eval in both (its mask is vireo's own).
 * Tolerance: |ours − torch| ≤ 1e-6·max|torch| + 1e-7 + 1e-4·|torch|, the max taken per tensor for outputs and
 * buffers and over all gradients for gradients (a conv bias before BatchNorm has a true gradient of 0:
 * both sides hold rounding noise there, small against the model's gradients, not against itself).
 */
const fixtures = parityFixtures.filter((f) => f.name !== 'reference_cnn');

function missingKernel(e: unknown): string | null {
  const m = /has no (f32_gemm|\w+ kernel)/.exec((e as Error).message ?? '');
  return m ? m[0] : null;
}

function maxAbs(values: Iterable<number>): number {
  let scale = 0;
  for (const v of values) scale = Math.max(scale, Math.abs(v));
  return scale;
}

function close(actual: Float32Array, expected: Float32Array, what: string, scale = maxAbs(expected)): void {
  expectClose(actual, expected, 1e-6 * scale + 1e-7, 1e-4, what);
}

for (const fixture of fixtures) {
  describe(`${fixture.name}: gradients match PyTorch autograd`, () => {
    const weights = readFixture(`${fixture.name}.safetensors`).tensors;
    const g = readFixture(`${fixture.name}.grad.safetensors`).tensors;
    const need = (k: string): Tensor => {
      const t = g.get(k);
      if (!t) throw new Error(`${fixture.name}.grad.safetensors lacks ${k}`);
      return t;
    };
    for (const b of backendsUnderTest) {
      it(`on ${b.label}`, async (ctx) => {
        const net = fixture.build();
        await net.to(b.name, b.build ? { build: b.build } : {});
        net.loadStateDict(weights);
        net.train();
        for (const [name, child] of net.namedChildren()) if (name === 'drop') child.eval();
        const x = need('__input__');
        let out: Tensor;
        try {
          out = await net.forward(tensor(x.dataSync().slice(), x.shape));
        } catch (e) {
          const reason = b.name === 'wasm' ? missingKernel(e) : null;
          if (reason) ctx.skip(`not yet implemented: ${reason}`);
          throw e;
        }
        try {
          close(out.dataSync(), need('__output__').dataSync(), 'training-mode output');
          await out.backward(need('__r__').dataSync());
          const gradScale = Math.max(...net.namedParameters().map(([name]) => maxAbs(need(`grad.${name}`).dataSync())));
          for (const [name, p] of net.namedParameters()) {
            expect(p.grad, name).not.toBeNull();
            close(p.grad as Float32Array, need(`grad.${name}`).dataSync(), `grad of ${name}`, gradScale);
          }
          const state = net.stateDict();
          for (const [name] of net.namedBuffers()) close(state[name].dataSync(), need(`after.${name}`).dataSync(), name);
        } finally {
          net.releasePlans();
        }
      });
    }
  });
}
