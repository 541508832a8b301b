import { describe, expect, it } from 'vitest';
import { Tensor, TrainPlan, manualSeed, nn } from '../src/index.js';
import { backendsUnderTest, loadBackend } from './helpers/backends.js';
import { expectClose, randomArray } from './helpers/random.js';

function gradOf(p: { grad: Float32Array | null }): Float32Array {
  if (!p.grad) throw new Error('no gradient');
  return p.grad;
}

function cnn(): nn.Sequential {
  return new nn.Sequential({
    conv1: new nn.Conv2d(3, 6, 3, { padding: 1 }),
    bn1: new nn.BatchNorm2d(6),
    relu1: new nn.ReLU(),
    pool1: new nn.MaxPool2d(2),
    conv2: new nn.Conv2d(6, 8, 3, { padding: 1, bias: false }),
    relu2: new nn.ReLU(),
    drop: new nn.Dropout(0.25),
    pool2: new nn.AdaptiveAvgPool2d(2),
    flatten: new nn.Flatten(),
    fc: new nn.Linear(32, 5),
  });
}

const shape = [4, 3, 8, 8];
const input = () => new Tensor(randomArray(4 * 3 * 64, 3, 1), shape);

for (const b of backendsUnderTest) {
  describe(`training engine on ${b.label}`, () => {
    it('a warm training step (forward + backward) allocates nothing in the arena', async () => {
      manualSeed(1);
      const net = cnn();
      await net.to(b.name, b.build ? { build: b.build } : {});
      const backend = await loadBackend(b);
      net.train();
      const x = input();
      const step = async () => {
        const out = await net.forward(x);
        await out.backward(randomArray(out.size, 4, 1));
      };
      // Every backend has every forward and backward kernel: a missing one throws and fails the test.
      await step();
      const high = backend.memory.highWater;
      const inUse = backend.memory.bytesInUse;
      for (let i = 0; i < 3; i++) await step();
      expect(backend.memory.highWater).toBe(high);
      expect(backend.memory.bytesInUse).toBe(inUse);
      net.releasePlans();
    });
  });
}

/** No conv/linear: runs on every wasm build already (BN training, dropout mask, pooling, activations). */
function convFree(): nn.Sequential {
  return new nn.Sequential(
    new nn.BatchNorm2d(3),
    new nn.ReLU6(),
    new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
    new nn.Dropout(0.2),
    new nn.BatchNorm2d(3),
    new nn.Sigmoid(),
    new nn.AvgPool2d(2, { ceilMode: true, countIncludePad: false }),
    new nn.Residual(new nn.Sequential(new nn.BatchNorm2d(3), new nn.Tanh())),
    new nn.AdaptiveAvgPool2d([2, 1]),
    new nn.Flatten(),
    new nn.Softmax(1),
  );
}

describe('wasm training matches the reference (conv-free model)', () => {
  for (const b of backendsUnderTest.filter((b) => b.name === 'wasm')) {
    it(`${b.label}: outputs, gradients, running statistics; warm steps allocate nothing`, async () => {
      const x = new Tensor(randomArray(4 * 3 * 9 * 11, 13, 2), [4, 3, 9, 11]);
      // One network for both backends, reset in between: weights, and the Dropout's mask count (it lives
      // in the layer, so moving to another backend continues the stream, as torch's RNG would).
      manualSeed(11);
      const net = convFree();
      const initial = net.stateDict();
      const initialRng = net.rngState();
      const run = async (name: 'reference' | 'wasm', steps: number) => {
        net.loadStateDict(initial);
        net.loadRngState(initialRng);
        for (const p of net.parameters()) p.grad = null;
        await net.to(name, name === 'wasm' ? { build: b.build } : {});
        const backend = await net.currentBackend();
        const outs: Float32Array[] = [];
        let high = 0;
        for (let s = 0; s < steps; s++) {
          const out = await net.forward(x);
          outs.push(out.dataSync().slice());
          await out.backward(randomArray(out.size, 20 + s, 1));
          if (s === 0) high = backend.memory.highWater;
        }
        expect(backend.memory.highWater).toBe(high);
        const state = net.stateDict();
        const grads = net.parameters().map((p) => gradOf(p).slice());
        net.releasePlans();
        return { outs, grads, state };
      };
      const ref = await run('reference', 3);
      const got = await run('wasm', 3);
      ref.outs.forEach((o, i) => expectClose(got.outs[i], o, 1e-5, 1e-4, `output ${i}`));
      ref.grads.forEach((g, i) => expectClose(got.grads[i], g, 1e-5, 1e-3, `grad ${i}`));
      for (const [k, t] of Object.entries(ref.state)) expectClose(got.state[k].dataSync(), t.dataSync(), 1e-6, 1e-5, k);
    });
  }
});

describe('a training plan that fails to compile leaves the arena as it was', () => {
  for (const b of backendsUnderTest.filter((b) => b.name === 'wasm')) {
    it(b.label, async () => {
      const backend = await loadBackend(b);
      // The same backend without one backward kernel: compiling fails after earlier kernels allocated.
      const broken = { ...backend, kernels: { ...backend.kernels, biasGrad: undefined } };
      const net = new nn.Sequential(new nn.BatchNorm2d(3), new nn.ReLU(), new nn.BatchNorm2d(3));
      const inUse = backend.memory.bytesInUse;
      expect(() => new TrainPlan(net.toGraph(), [[2, 3, 4, 4]], broken)).toThrow(/has no BiasGrad kernel/);
      expect(backend.memory.bytesInUse).toBe(inUse);
    });
  }
});

describe('training engine semantics (reference)', () => {
  it('requiresGrad = false freezes a parameter and skips its backward kernels', async () => {
    manualSeed(2);
    const net = cnn();
    await net.to('reference');
    const [conv1, , , , conv2] = net.namedChildren().map(([, m]) => m) as [
      nn.Conv2d,
      nn.BatchNorm2d,
      nn.Module,
      nn.Module,
      nn.Conv2d,
    ];
    const bn1 = net.namedChildren()[1][1] as nn.BatchNorm2d;
    for (const p of [conv1.weight, conv1.bias, bn1.weight, bn1.bias, conv2.weight]) if (p) p.requiresGrad = false;
    const before = conv2.weight.values.slice();
    const out = await net.forward(input());
    await out.backward(randomArray(out.size, 5, 1));
    for (const [name, p] of net.namedParameters()) {
      if (name.startsWith('fc.')) expect(p.grad, name).not.toBeNull();
      else expect(p.grad, name).toBeNull();
    }
    expect(Array.from(conv2.weight.values)).toEqual(Array.from(before));
    // Only the head is differentiated: no convolution, pooling or BatchNorm backward op was planned.
    const plan = await net.trainPlan(shape);
    const backwardOps = plan.training.graph.nodes.slice(plan.training.forwardNodes).map((n) => n.op);
    expect(backwardOps).toEqual(['linearGradWeight', 'biasGrad']);

    // Unfreezing conv2 rebuilds the plan; conv1 is still frozen, so its input gradient is never computed.
    conv2.weight.requiresGrad = true;
    const out2 = await net.forward(input());
    await out2.backward(randomArray(out2.size, 5, 1));
    expect(conv2.weight.grad).not.toBeNull();
    const ops = (await net.trainPlan(shape)).training.graph.nodes.map((n) => `${n.name}:${n.op}`);
    expect(ops).toContain('conv2:conv2dGradWeight');
    expect(ops).not.toContain('conv2:conv2dGradInput');
    expect(ops.some((o) => o.startsWith('conv1:conv2dGrad') || o.startsWith('bn1:batchNorm2dGrad'))).toBe(false);
    net.releasePlans();
  });

  it('the first layer never computes its input gradient', async () => {
    const net = cnn();
    await net.to('reference');
    const plan = await net.trainPlan(shape);
    const ops = plan.training.graph.nodes.map((n) => `${n.name}:${n.op}`);
    expect(ops).toContain('conv1:conv2dGradWeight');
    expect(ops).toContain('conv2:conv2dGradInput');
    expect(ops).not.toContain('conv1:conv2dGradInput');
    net.releasePlans();
  });

  it('gradients accumulate (+=) across backward calls, as in PyTorch', async () => {
    manualSeed(3);
    const net = cnn();
    net.namedChildren().forEach(([name, m]) => name === 'drop' && m.eval()); // same mask-free forward twice
    await net.to('reference');
    const x = input();
    const r = randomArray(20, 6, 1);
    await (await net.forward(x)).backward(r);
    const once = net.parameters().map((p) => gradOf(p).slice());
    await (await net.forward(x)).backward(r);
    net.parameters().forEach((p, i) => {
      for (let k = 0; k < once[i].length; k++) expect(gradOf(p)[k]).toBeCloseTo(2 * once[i][k], 4);
    });
    net.releasePlans();
  });

  it('BatchNorm running statistics follow the momentum rule and num_batches_tracked counts', async () => {
    const bn = new nn.BatchNorm2d(3, { momentum: 0.2 });
    await bn.to('reference');
    const xs = [2, 3, 2, 5];
    const values = randomArray(60, 8, 2);
    const x = new Tensor(values, xs);
    for (let call = 1; call <= 2; call++) {
      const meanBefore = bn.runningMean.values.slice();
      const varBefore = bn.runningVar.values.slice();
      const out = await bn.forward(x);
      await out.backward(randomArray(60, 9, 1));
      for (let c = 0; c < 3; c++) {
        const v: number[] = [];
        for (let n = 0; n < 2; n++) for (let i = 0; i < 10; i++) v.push(values[(n * 3 + c) * 10 + i]);
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const unbiased = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
        expect(bn.runningMean.values[c]).toBeCloseTo(0.8 * meanBefore[c] + 0.2 * mean, 5);
        expect(bn.runningVar.values[c]).toBeCloseTo(0.8 * varBefore[c] + 0.2 * unbiased, 5);
      }
      expect(bn.numBatchesTracked.values[0]).toBe(call);
    }
    bn.eval();
    await bn.forward(x);
    expect(bn.numBatchesTracked.values[0]).toBe(2);
    bn.releasePlans();
  });

  it('backward errors: twice for one forward, a stale output, an implicit gradient for a non-scalar', async () => {
    const net = cnn();
    await net.to('reference');
    const first = await net.forward(input());
    const r = randomArray(20, 6, 1);
    const second = await net.forward(input());
    await expect(first.backward(r)).rejects.toThrow(/ran forward again/);
    await second.backward(r);
    await expect(second.backward(r)).rejects.toThrow(/already ran/);
    await expect(second.backward()).rejects.toThrow(/single-element/);
    await expect(second.backward(new Float32Array(3))).rejects.toThrow(/3 values/);
    net.eval();
    const evalOut = await net.forward(input());
    await expect(evalOut.backward(r)).rejects.toThrow(/does not require grad/);
    net.releasePlans();
  });

  it('profileStep times every forward and backward kernel; FLOPs count both passes', async () => {
    const net = cnn();
    await net.to('reference');
    const plan = await net.trainPlan(shape);
    const { output, layers } = plan.profileStep([input().dataSync()], randomArray(20, 1, 1));
    expect(output.length).toBe(20);
    const ops = layers.map((l) => l.op);
    expect(ops.indexOf('conv2dGradWeight')).toBeGreaterThan(ops.indexOf('linear'));
    expect(layers.every((l) => l.ms >= 0 && l.flops >= 0)).toBe(true);
    expect(plan.totalFlops).toBe(layers.reduce((a, l) => a + l.flops, 0));
    net.eval();
    const forwardOnly = await net.plan(shape);
    expect(plan.totalFlops).toBeGreaterThan(2 * forwardOnly.totalFlops);
    net.releasePlans();
  });

  it('a scalar tensor with a gradient function gets an implicit gradient of 1 (the loss hook)', async () => {
    const seen: Float32Array[] = [];
    const loss = new Tensor(new Float32Array([0.5]), [], { gradFn: (g) => void seen.push(g) });
    expect(loss.requiresGrad).toBe(true);
    await loss.backward();
    expect(seen.map((g) => Array.from(g))).toEqual([[1]]);
  });
});
