// Training on the WebGPU backend end to end (SwiftShader in CI: small models, correctness only): fit() on
// the embedded Fashion-MNIST subset against wasm with the same batches, BatchNorm in training mode with its
// running statistics, and GPU memory that stays flat over a long run.
import { beforeAll, describe, expect, it } from 'vitest';
import { Tensor, datasets, fit as fitModel, getBackend, nn, optim } from '../src/index.js';
import type { WebGpuBackend } from '../src/backends/webgpu/index.js';
import { arrayBatches } from '../src/train/batches.js';
import type { Module } from '../src/nn/module.js';
import { expectClose, randomArray } from './helpers/random.js';
import { webgpuUnderTest } from './helpers/webgpu.js';

/** A small CNN for 28×28 grayscale with every trainable kind the GPU must update: conv, BatchNorm, linear. */
function tinyFashionNet(): Module {
  return new nn.Sequential({
    conv1: new nn.Conv2d(1, 6, 3, { padding: 1 }),
    relu1: new nn.ReLU(),
    pool1: new nn.MaxPool2d(2),
    conv2: new nn.Conv2d(6, 8, 3, { stride: 2 }),
    bn2: new nn.BatchNorm2d(8),
    relu2: new nn.ReLU(),
    pool2: new nn.AdaptiveAvgPool2d(1),
    flat: new nn.Flatten(),
    fc: new nn.Linear(8, 10),
  });
}

/** The first `n` images of the embedded training subset, scaled to [0, 1], with their labels. */
async function fashionSamples(n: number): Promise<{ x: Tensor; y: Tensor }> {
  const train = await datasets.FashionMNIST.embedded({ train: true });
  const pixels = train.images.data;
  const size = train.height * train.width;
  const x = new Float32Array(n * size);
  for (let i = 0; i < n * size; i++) x[i] = pixels[i] / 255;
  return {
    x: new Tensor(x, [n, 1, train.height, train.width]),
    y: new Tensor(Float32Array.from(train.labels.subarray(0, n)), [n]),
  };
}

describe.runIf(webgpuUnderTest)('training on webgpu (SwiftShader in CI)', () => {
  let gpu: WebGpuBackend;
  beforeAll(async () => {
    gpu = (await getBackend('webgpu')) as WebGpuBackend;
  });

  it('fit() on the embedded Fashion-MNIST subset: loss falls, and weights and BatchNorm statistics equal wasm', async () => {
    const { x, y } = await fashionSamples(96);
    const nets = [tinyFashionNet(), tinyFashionNet()];
    nets[1].loadStateDict(nets[0].stateDict());
    const before = nets[0].stateDict()['bn2.running_mean'].dataSync().slice();
    await nets[0].to('webgpu');
    await nets[1].to('wasm');
    const losses: number[][] = [];
    for (const net of nets) {
      const optimizer = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
      const criterion = new nn.CrossEntropyLoss();
      const stepLosses: number[] = [];
      await fitModel(net, {
        train: arrayBatches(x, y, 16),
        epochs: 2,
        optimizer,
        loss: (out, target) => criterion.forward(out, target),
        onProgress: (e) => {
          if (e.phase === 'train') stepLosses.push(e.loss);
        },
      });
      losses.push(stepLosses);
      await optimizer.disposeAsync();
    }
    expect(losses[0]).toHaveLength(12);
    // The second epoch's mean loss is below the first's (the same 96 images seen again).
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses[0].slice(6))).toBeLessThan(mean(losses[0].slice(0, 6)));
    expectClose(Float32Array.from(losses[0]), Float32Array.from(losses[1]), 1e-4, 1e-3, 'step losses webgpu vs wasm');
    await nets[0].syncToHost();
    const got = nets[0].stateDict();
    const want = nets[1].stateDict();
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [k, w] of Object.entries(want)) expectClose(got[k].dataSync(), w.dataSync(), 1e-4, 1e-3, `${k} after 12 steps`);
    // BatchNorm's running statistics moved on the GPU (the check above would pass for two unchanged copies).
    const moved = got['bn2.running_mean'].dataSync();
    expect(moved.some((v, i) => Math.abs(v - before[i]) > 1e-3)).toBe(true);
    expect(got['bn2.num_batches_tracked'].dataSync()[0]).toBe(12);
  });

  it('training with Dropout on webgpu equals wasm: the same masks drawn, step after step', async () => {
    const build = () =>
      new nn.Sequential({ fc: new nn.Linear(6, 8), act: new nn.ReLU(), drop: new nn.Dropout(0.5), out: new nn.Linear(8, 3) });
    const nets = [build(), build()];
    nets[1].loadStateDict(nets[0].stateDict());
    // Each Dropout made takes its own seed: the twin takes the first one's, so both draw the same masks.
    nets[1].loadRngState(nets[0].rngState());
    await nets[0].to('webgpu');
    await nets[1].to('wasm');
    const x = new Tensor(randomArray(5 * 6, 3, 1), [5, 6]);
    const y = new Tensor(Float32Array.from([0, 2, 1, 1, 0]), [5]);
    const losses: number[][] = [];
    for (const net of nets) {
      net.train();
      const optimizer = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
      const criterion = new nn.CrossEntropyLoss();
      const stepLosses: number[] = [];
      for (let step = 0; step < 4; step++) {
        optimizer.zeroGrad();
        const loss = criterion.forward(await net.forward(x), y);
        await loss.backward();
        optimizer.step();
        stepLosses.push((await loss.data())[0]);
      }
      losses.push(stepLosses);
      await optimizer.disposeAsync();
    }
    // With p = 0.5 on 8 features another mask moves a loss far past this tolerance.
    expectClose(Float32Array.from(losses[0]), Float32Array.from(losses[1]), 1e-5, 1e-4, 'step losses webgpu vs wasm');
    expect(nets[0].rngState()).toEqual(nets[1].rngState());
    expect(nets[0].rngState().drop.calls).toBe(4);
    await nets[0].syncToHost();
    const got = nets[0].stateDict();
    for (const [k, w] of Object.entries(nets[1].stateDict()))
      expectClose(got[k].dataSync(), w.dataSync(), 1e-5, 1e-4, `${k} after 4 steps`);
    const placement = (await nets[0].trainPlan([5, 6])).placement;
    expect(placement.filter((s) => s.kind === 'kernel' && s.backend !== 'webgpu')).toEqual([]);
  });

  // A deliberately tiny network (each step is ~10 dispatches, which SwiftShader runs on the CPU): what grows
  // or not is the plan's and the optimizer's GPU memory, whatever the layer sizes. Every step reads its loss
  // back, as fit() does, so the staging buffer is exercised too.
  it('GPU memory after 1,000 training steps equals memory after 10', { timeout: 600_000 }, async () => {
    const { x, y } = await fashionSamples(2);
    const net = new nn.Sequential({
      conv: new nn.Conv2d(1, 2, 5, { stride: 4 }),
      bn: new nn.BatchNorm2d(2),
      relu: new nn.ReLU(),
      flat: new nn.Flatten(),
      fc: new nn.Linear(2 * 6 * 6, 10),
    });
    await net.to('webgpu');
    net.train();
    const criterion = new nn.CrossEntropyLoss();
    const optimizer = new optim.Adam(net.parameters(), { lr: 1e-3 });
    const step = async () => {
      optimizer.zeroGrad();
      const loss = criterion.forward(await net.forward(x), y);
      await loss.backward();
      optimizer.step();
      return (await loss.data())[0];
    };
    for (let i = 0; i < 10; i++) await step();
    const high = gpu.memory.highWater;
    const inUse = gpu.memory.bytesInUse;
    expect(inUse).toBeGreaterThan(0);
    let last = 0;
    for (let i = 10; i < 1000; i++) {
      last = await step();
      // Let the worker's event loop turn now and then: every await above resolves as a microtask.
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(Number.isFinite(last)).toBe(true);
    expect(gpu.memory.highWater).toBe(high);
    expect(gpu.memory.bytesInUse).toBe(inUse);
    await optimizer.disposeAsync();
    await net.syncToHost();
    net.releasePlans();
  });
});
