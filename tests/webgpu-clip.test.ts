// Gradient clipping on gradients in GPU memory: the norm reduced on the device (clipGradNormAsync resolves to
// it, clipGradNormLazy reads nothing back), checked against PyTorch's training-step fixture (three SGD steps
// with clip_grad_norm_(1.0), then Adam) and against wasm for the ∞-norm, other p-norms and clipGradValue.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Tensor,
  VireoError,
  clipGradNorm,
  clipGradNormAsync,
  clipGradNormLazy,
  clipGradValue,
  fit as fitModel,
  getBackend,
  nn,
  optim,
  tensor,
} from '../src/index.js';
import type { Parameter } from '../src/core/parameter.js';
import type { WebGpuBackend } from '../src/backends/webgpu/index.js';
import type { Module } from '../src/nn/module.js';
import { readFixture, smallNet } from './helpers/models.js';
import { expectClose, randomArray } from './helpers/random.js';
import { trainFixture } from './helpers/train-fixtures.js';
import { webgpuUnderTest } from './helpers/webgpu.js';

interface StepsFixture {
  labels: number[];
  losses: number[];
  gradNorms: number[];
  state: Record<string, { stride: number; values: number[] }>;
}

function expectRel(actual: number, expected: number, what: string): void {
  if (!(Math.abs(actual - expected) <= 1e-4 * Math.abs(expected))) throw new Error(`${what}: ${actual} vs PyTorch ${expected}`);
}

/** A model with gradients from one backward pass on `backend`. */
async function withGrads(backend: string, seed: number): Promise<Module> {
  const net = smallNet();
  net.loadStateDict(readFixture('small_net.safetensors').tensors);
  await net.to(backend);
  net.train();
  for (const [name, child] of net.namedChildren()) if (child instanceof nn.Dropout || name === 'drop') child.eval();
  const x = new Tensor(randomArray(2 * 3 * 16 * 16, seed, 1), [2, 3, 16, 16]);
  const loss = new nn.CrossEntropyLoss().forward(await net.forward(x), tensor([3, 8]));
  await loss.backward();
  return net;
}

async function grads(net: Module): Promise<Float32Array[]> {
  await net.syncToHost();
  return net.parameters().map((p) => (p.grad as Float32Array).slice());
}

describe.runIf(webgpuUnderTest)('gradient clipping on webgpu', () => {
  afterEach(() => vi.restoreAllMocks());

  for (const mode of ['async', 'lazy'] as const) {
    it(`small_net training steps with clip_grad_norm_(1.0) match PyTorch (${mode})`, async () => {
      const fx = trainFixture<StepsFixture>('steps_small_net.json');
      const net = smallNet();
      net.loadStateDict(readFixture('small_net.safetensors').tensors);
      await net.to('webgpu');
      const x = readFixture('small_net.io.safetensors').tensors.get('__input__') as Tensor;
      const labels = tensor(fx.labels);
      net.train();
      for (const [name, child] of net.namedChildren()) if (child instanceof nn.Dropout || name === 'drop') child.eval();
      const criterion = new nn.CrossEntropyLoss();
      const sgd = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
      const adam = new optim.Adam(net.parameters(), { lr: 1e-3, eps: 1e-3 });
      const norms: Promise<number>[] = [];
      for (let step = 0; step < 4; step++) {
        const opt = step < 3 ? sgd : adam;
        opt.zeroGrad();
        const loss = criterion.forward(await net.forward(x), labels);
        await loss.backward();
        if (step < 3) {
          if (mode === 'async')
            expectRel(await clipGradNormAsync(net.parameters(), 1.0), fx.gradNorms[step], `norm at step ${step + 1}`);
          else norms.push(clipGradNormLazy(net.parameters(), 1.0).norm());
        }
        opt.step();
        expectRel((await loss.data())[0], fx.losses[step], `loss at step ${step + 1}`);
      }
      // Lazy norms read later still hold each step's value (their copy was recorded at clip time).
      for (const [step, norm] of norms.entries()) expectRel(await norm, fx.gradNorms[step], `lazy norm at step ${step + 1}`);
      await net.syncToHost();
      const state = net.stateDict();
      for (const [name, want] of Object.entries(fx.state)) {
        const have = state[name].dataSync();
        const sampled = Float32Array.from(want.values, (_, i) => have[i * want.stride]);
        expectClose(sampled, Float32Array.from(want.values), 1e-6, 1e-4, `${name} after 4 steps`);
      }
      await sgd.disposeAsync();
      await adam.disposeAsync();
    });
  }

  it('a lazy clip reads nothing back: a step downloads what an unclipped step downloads', async () => {
    const gpu = (await getBackend('webgpu')) as WebGpuBackend;
    const net = await withGrads('webgpu', 3);
    const download = vi.spyOn(gpu.memory, 'download');
    clipGradNormLazy(net.parameters(), 0.5);
    expect(download).not.toHaveBeenCalled();
  });

  for (const [what, clip] of [
    ['∞-norm', (ps: Parameter[]) => clipGradNormAsync(ps, 0.05, Number.POSITIVE_INFINITY)],
    ['3-norm (downloads)', (ps: Parameter[]) => clipGradNormAsync(ps, 0.1, 3)],
    [
      '2-norm with errorIfNonfinite (reads first)',
      (ps: Parameter[]) => clipGradNormAsync(ps, 0.1, 2, { errorIfNonfinite: true }),
    ],
    [
      'value 0.01',
      async (ps: Parameter[]) => {
        clipGradValue(ps, 0.01);
        return 0;
      },
    ],
  ] as const) {
    it(`${what} matches wasm`, async () => {
      const onGpu = await withGrads('webgpu', 5);
      const onWasm = await withGrads('wasm', 5);
      const before = await grads(onWasm);
      const got = await clip(onGpu.parameters());
      const want = await clip(onWasm.parameters());
      expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * Math.abs(want));
      const g = await grads(onGpu);
      const w = await grads(onWasm);
      g.forEach((v, i) => expectClose(v, w[i], 1e-5, 1e-4, `gradient ${i} after ${what}`));
      // Something was clipped: the check would pass on untouched gradients otherwise.
      expect(w.some((v, i) => v.some((x, k) => x !== before[i][k]))).toBe(true);
    });
  }

  it('a NaN gradient makes the device norm NaN (2 and ∞), as torch and the host path do', async () => {
    for (const normType of [2, Number.POSITIVE_INFINITY]) {
      const net = await withGrads('webgpu', 2);
      await net.syncToHost();
      const p = net.parameters()[1];
      const g = (p.grad as Float32Array).slice();
      g[g.length - 1] = Number.NaN;
      p.grad = g;
      expect(await clipGradNormLazy(net.parameters(), 1, normType).norm()).toBeNaN();
    }
  });

  it('fit with clip: { maxNorm } trains on webgpu as on wasm', async () => {
    const finals: Float32Array[][] = [];
    const nets = [smallNet(), smallNet()];
    // The same dropout draws in both.
    nets[1].loadRngState(nets[0].rngState());
    for (const [k, backend] of ['webgpu', 'wasm'].entries()) {
      const net = nets[k];
      net.loadStateDict(readFixture('small_net.safetensors').tensors);
      await net.to(backend);
      const train = [0, 1].map((k) => ({
        x: new Tensor(randomArray(2 * 3 * 16 * 16, 60 + k, 1), [2, 3, 16, 16]),
        y: tensor([k, 9 - k]),
      }));
      const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
      await fitModel(net, { train, epochs: 2, optimizer: opt, loss: new nn.CrossEntropyLoss(), clip: { maxNorm: 0.5 } });
      await net.syncToHost();
      finals.push(net.parameters().map((p) => p.values.slice()));
    }
    finals[0].forEach((v, i) => expectClose(v, finals[1][i], 1e-5, 1e-4, `parameter ${i} after fit with clipping`));
  });

  it('the synchronous clipGradNorm on a GPU says to await clipGradNormAsync', async () => {
    const net = await withGrads('webgpu', 1);
    expect(() => clipGradNorm(net.parameters(), 1)).toThrow(VireoError);
    expect(() => clipGradNorm(net.parameters(), 1)).toThrow(/clipGradNormAsync/);
  });
});
