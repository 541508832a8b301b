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
 * buffers and over all gradients for gradients of the BatchNorm nets (a conv bias before BatchNorm has a
 * true gradient of 0: both sides hold rounding noise there, small against the model's gradients, not
 * against itself). The reference CNN has no BatchNorm: its gradients are held to their own tensor's
 * scale, since fc1's are far smaller than conv1's; its PyTorch side ran in float64, and gradients of more
 * than 65,536 values are stored sampled, with their sum and L1 norm over every element (compared at 1e-4
 * of the L1 norm).
 */
const fixtures = parityFixtures;
const perTensorScale = new Set(['reference_cnn']);

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
    const { tensors: g, metadata: gradMeta } = readFixture(`${fixture.name}.grad.safetensors`);
    const need = (k: string): Tensor => {
      const t = g.get(k);
      if (!t) throw new Error(`${fixture.name}.grad.safetensors lacks ${k}`);
      return t;
    };
    for (const b of backendsUnderTest) {
      it(`on ${b.label}`, async () => {
        const net = fixture.build();
        await net.to(b.name, b.build ? { build: b.build } : {});
        net.loadStateDict(weights);
        net.train();
        for (const [name, child] of net.namedChildren()) if (name === 'drop') child.eval();
        const x = need('__input__');
        // Every backend has every kernel these models use: a missing one fails here.
        const out = await net.forward(tensor(x.dataSync().slice(), x.shape));
        try {
          close(out.dataSync(), need('__output__').dataSync(), 'training-mode output');
          await out.backward(need('__r__').dataSync());
          const expected = (name: string) => g.get(`grad.${name}`)?.dataSync() ?? need(`grad.${name}.sampled`).dataSync();
          const gradScale = Math.max(...net.namedParameters().map(([name]) => maxAbs(expected(name))));
          for (const [name, p] of net.namedParameters()) {
            expect(p.grad, name).not.toBeNull();
            const grad = p.grad as Float32Array;
            const scale = perTensorScale.has(fixture.name) ? maxAbs(expected(name)) : gradScale;
            const stride = Number(gradMeta[`stride.${name}`] ?? 1);
            if (g.has(`grad.${name}`)) {
              close(grad, expected(name), `grad of ${name}`, scale);
              continue;
            }
            close(
              grad.filter((_, i) => i % stride === 0),
              expected(name),
              `sampled grad of ${name}`,
              scale,
            );
            const [sum, absSum] = need(`grad.${name}.stats`).dataSync();
            let ours = 0;
            let oursAbs = 0;
            for (const v of grad) {
              ours += v;
              oursAbs += Math.abs(v);
            }
            expect(Math.abs(oursAbs - absSum), `Σ|grad| of ${name}: ${oursAbs} vs ${absSum}`).toBeLessThanOrEqual(1e-4 * absSum);
            expect(Math.abs(ours - sum), `Σ grad of ${name}: ${ours} vs ${sum}`).toBeLessThanOrEqual(1e-4 * absSum);
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
