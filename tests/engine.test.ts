import { beforeAll, describe, expect, it } from 'vitest';
import { Graph, Parameter, Plan, ShapeError, backendInfo, getBackend, manualSeed, nn, tensor } from '../src/index.js';
import type { Backend } from '../src/backends/backend.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';
import type { Module } from '../src/nn/module.js';
import { type BackendUnderTest, backendsUnderTest, loadBackend } from './helpers/backends.js';
import { maxViolation, randomArray } from './helpers/random.js';
import { referenceCnn } from './helpers/models.js';

/**
 * Engine-level behaviour: whole models on every wasm build against the reference backend, static
 * plans (compiled once per shape, no arena growth when warm), DAGs, state-dict names, shape errors
 * and which build runs.
 */
const wasmUnderTest = backendsUnderTest.filter((b) => b.name === 'wasm');

/** A small model of the ops that need no conv/linear kernel, with batch norm statistics that are not trivial. */
function poolingModel(): nn.Sequential {
  const bn = new nn.BatchNorm2d(3);
  bn.runningMean.set(new Float32Array([0.1, -0.2, 0.3]));
  bn.runningVar.set(new Float32Array([0.5, 1.5, 2]));
  bn.weight.set(new Float32Array([1.2, 0.7, -0.4]));
  bn.bias.set(new Float32Array([0.05, -0.1, 0.2]));
  return new nn.Sequential({
    bn,
    act: new nn.LeakyReLU(0.1),
    pool: new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
    avg: new nn.AvgPool2d(2, { countIncludePad: false }),
    gap: new nn.AdaptiveAvgPool2d(1),
    flatten: new nn.Flatten(),
    softmax: new nn.Softmax(1),
  });
}

async function forwardOn(
  model: Module,
  b: BackendUnderTest | 'reference',
  shape: number[],
  x: Float32Array,
): Promise<Float32Array> {
  if (b === 'reference') await model.to('reference');
  else await model.to(b.name, b.build ? { build: b.build } : {});
  const out = await model.forward(tensor(x, shape));
  return (await out.data()).slice();
}

function expectWithin(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const { ratio, index } = maxViolation(actual, expected, tol, tol);
  expect(ratio, `${what}: index ${index}: got ${actual[index]}, expected ${expected[index]}`).toBeLessThanOrEqual(1);
}

describe('reference CNN (issue 2) on every wasm build matches the reference backend within 1e-4', () => {
  manualSeed(2024);
  const net = referenceCnn();
  net.eval();
  const expected = new Map<number, Float32Array>();
  const inputs = new Map([1, 3].map((batch) => [batch, randomArray(batch * 3 * 32 * 32, 100 + batch, 1)]));

  beforeAll(async () => {
    for (const [batch, x] of inputs) expected.set(batch, await forwardOn(net, 'reference', [batch, 3, 32, 32], x));
  });

  for (const b of wasmUnderTest) {
    for (const batch of [1, 3]) {
      it(`${b.label}, batch ${batch}`, async () => {
        const x = inputs.get(batch) as Float32Array;
        const out = await forwardOn(net, b, [batch, 3, 32, 32], x);
        expect(out.length).toBe(batch * 10);
        expectWithin(out, expected.get(batch) as Float32Array, 1e-4, `${b.label} batch ${batch}`);
      });
    }
  }
});

describe('models built from pooling, batch norm and element-wise layers match the reference', () => {
  for (const b of wasmUnderTest) {
    for (const batch of [1, 3]) {
      it(`${b.label}, batch ${batch}`, async () => {
        const model = poolingModel().eval();
        const shape = [batch, 3, 13, 17];
        const x = randomArray(batch * 3 * 13 * 17, 7 + batch, 2);
        const want = await forwardOn(model, 'reference', shape, x);
        const got = await forwardOn(model, b, shape, x);
        expectWithin(got, want, 1e-5, `${b.label} batch ${batch}`);
      });
    }
  }
});

describe('static plans', () => {
  for (const b of wasmUnderTest) {
    it(`${b.label}: the arena high-water mark stays constant over 100 warm forward calls`, async () => {
      const model = poolingModel().eval();
      await model.to('wasm', { build: b.build, threads: b.threads });
      const backend = await model.currentBackend();
      const x = tensor(randomArray(2 * 3 * 16 * 16, 3, 1), [2, 3, 16, 16]);
      const first = await (await model.forward(x)).data();
      const highWater = backend.memory.highWater;
      const inUse = backend.memory.bytesInUse;
      for (let i = 0; i < 100; i++) {
        // Changing a parameter forces the plan to repack batch norm's scale/shift: that must not allocate either.
        if (i % 10 === 0) (model.namedChildren()[0][1] as nn.BatchNorm2d).weight.markChanged();
        const out = await (await model.forward(x)).data();
        if (i === 99) expect([...out]).toEqual([...first]);
      }
      expect(backend.memory.highWater).toBe(highWater);
      expect(backend.memory.bytesInUse).toBe(inUse);
      model.releasePlans();
    });
  }

  it("the reference CNN's arena high-water mark stays constant over 100 calls", async () => {
    const net = new nn.Sequential({
      conv1: new nn.Conv2d(3, 8, 3, { padding: 1 }),
      relu1: new nn.ReLU(),
      pool1: new nn.MaxPool2d(2),
      flatten: new nn.Flatten(),
      fc1: new nn.Linear(8 * 4 * 4, 10),
    }).eval();
    await net.to('wasm');
    const backend = await net.currentBackend();
    const x = tensor(randomArray(2 * 3 * 8 * 8, 5, 1), [2, 3, 8, 8]);
    await net.forward(x);
    const highWater = backend.memory.highWater;
    for (let i = 0; i < 100; i++) await net.forward(x);
    expect(backend.memory.highWater).toBe(highWater);
    net.releasePlans();
  });

  it('a plan is compiled once per input shape and reused; a new shape gets its own plan', async () => {
    const model = poolingModel().eval();
    await model.to('wasm');
    const a = await model.plan([2, 3, 9, 9]);
    await model.forward(tensor(randomArray(2 * 3 * 81, 1), [2, 3, 9, 9]));
    expect(await model.plan([2, 3, 9, 9])).toBe(a);
    const b = await model.plan([1, 3, 9, 9]);
    expect(b).not.toBe(a);
    expect(b.inputShapes).toEqual([[1, 3, 9, 9]]);
    await model.forward(tensor(randomArray(3 * 81, 2), [1, 3, 9, 9]));
    expect(await model.plan([2, 3, 9, 9])).toBe(a);
    expect(await model.plan([1, 3, 9, 9])).toBe(b);
    model.releasePlans();
  });
});

describe('residual DAG (nn.Residual)', () => {
  function residualModel(withConv: boolean): nn.Sequential {
    const main = withConv
      ? new nn.Sequential(
          new nn.Conv2d(4, 4, 3, { padding: 1 }),
          new nn.BatchNorm2d(4),
          new nn.ReLU(),
          new nn.Conv2d(4, 4, 3, { padding: 1 }),
        )
      : new nn.Sequential(new nn.BatchNorm2d(4), new nn.Tanh(), new nn.MaxPool2d(3, { stride: 1, padding: 1 }));
    const shortcut = withConv ? undefined : new nn.AvgPool2d(3, { stride: 1, padding: 1 });
    return new nn.Sequential({
      block1: new nn.Residual(main, shortcut),
      relu: new nn.ReLU(),
      block2: new nn.Residual(new nn.Sequential(new nn.Sigmoid(), new nn.ReLU6())),
      pool: new nn.MaxPool2d(2),
    });
  }

  for (const withConv of [false, true]) {
    for (const b of wasmUnderTest) {
      const label = `${withConv ? 'conv' : 'pooling'} blocks on ${b.label} match the reference`;
      it(label, async () => {
        manualSeed(7);
        const model = residualModel(withConv).eval();
        const shape = [2, 4, 11, 10];
        const x = randomArray(2 * 4 * 11 * 10, 9, 1.5);
        const want = await forwardOn(model, 'reference', shape, x);
        const got = await forwardOn(model, b, shape, x);
        expectWithin(got, want, 1e-5, b.label);
        // The graph really is a DAG: the block input feeds both branches.
        const g = model.toGraph();
        const uses = g.useCounts();
        expect(uses.some((u) => u > 1)).toBe(true);
        expect(g.nodes.filter((n) => n.op === 'add').length).toBe(2);
        model.releasePlans();
      });
    }
  }
});

describe('state-dict names', () => {
  it("positional Sequential children are '0', '1', …; named ones keep their names", () => {
    const positional = new nn.Sequential(
      new nn.Conv2d(3, 4, 3),
      new nn.ReLU(),
      new nn.BatchNorm2d(4),
      new nn.Flatten(),
      new nn.Linear(4, 2),
    );
    expect(Object.keys(positional.stateDict())).toEqual([
      '0.weight',
      '0.bias',
      '2.weight',
      '2.bias',
      '2.running_mean',
      '2.running_var',
      '2.num_batches_tracked',
      '4.weight',
      '4.bias',
    ]);
    const named = referenceCnn();
    expect(Object.keys(named.stateDict())).toEqual(
      ['conv1', 'conv2', 'conv3', 'fc1', 'fc2', 'fc3'].flatMap((l) => [`${l}.weight`, `${l}.bias`]),
    );
    const nested = new nn.Sequential({
      block: new nn.Residual(new nn.Sequential(new nn.Conv2d(2, 2, 1, { bias: false })), new nn.Conv2d(2, 2, 1)),
    });
    expect(Object.keys(nested.stateDict())).toEqual(['block.main.0.weight', 'block.shortcut.weight', 'block.shortcut.bias']);
  });

  it('named children keep their order: a Map like an OrderedDict; integer names mixed into an object are refused', () => {
    const fromMap = new nn.Sequential(
      new Map<string, Module>([
        ['features', new nn.Conv2d(1, 2, 1)],
        ['10', new nn.Flatten()],
        ['2', new nn.Linear(2, 3)],
      ]),
    );
    expect(fromMap.namedChildren().map(([n]) => n)).toEqual(['features', '10', '2']);
    expect(Object.keys(fromMap.stateDict())).toEqual(['features.weight', 'features.bias', '2.weight', '2.bias']);
    // {features, '10', '2'} as an object would list '2', '10', 'features': the layers would run out of order.
    expect(() => new nn.Sequential({ features: new nn.ReLU(), 10: new nn.Flatten() })).toThrow(/'10'.*pass a Map/);
    // All-integer names (PyTorch's positional style written out) stay accepted.
    expect(new nn.Sequential({ 0: new nn.ReLU(), 1: new nn.Tanh() }).namedChildren().map(([n]) => n)).toEqual(['0', '1']);
  });

  it('a state dict saved from one model loads into a twin by the same names', () => {
    manualSeed(1);
    const a = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.Linear(4, 2));
    manualSeed(2);
    const b = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.Linear(4, 2));
    expect([...b.stateDict()['0.weight'].dataSync()]).not.toEqual([...a.stateDict()['0.weight'].dataSync()]);
    b.loadStateDict(a.stateDict());
    for (const [k, t] of Object.entries(a.stateDict())) expect([...b.stateDict()[k].dataSync()], k).toEqual([...t.dataSync()]);
  });
});

describe('shape errors name the layer and both shapes', () => {
  async function compileError(model: Module, shape: number[]): Promise<Error> {
    await model.to('wasm');
    try {
      await model.plan(shape);
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a shape error');
  }

  it('a Linear whose inFeatures does not match the flattened size', async () => {
    const net = new nn.Sequential({
      conv1: new nn.Conv2d(3, 8, 3, { padding: 1 }),
      pool1: new nn.MaxPool2d(2),
      flatten: new nn.Flatten(),
      fc1: new nn.Linear(4000, 10),
    });
    const e = await compileError(net, [2, 3, 32, 32]);
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain("'fc1'");
    expect(e.message).toContain('Linear');
    expect(e.message).toContain('4000');
    expect(e.message).toContain('[2, 2048]');
  });

  it('a conv fed the wrong number of channels', async () => {
    const e = await compileError(referenceCnn(), [1, 4, 32, 32]);
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain("'conv1'");
    expect(e.message).toContain('Conv2d');
    expect(e.message).toContain('[N, 3, H, W]');
    expect(e.message).toContain('[1, 4, 32, 32]');
  });

  it('an input of the wrong rank', async () => {
    const e = await compileError(referenceCnn(), [3, 32, 32]);
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain("'conv1'");
    expect(e.message).toContain('[N, C, H, W]');
    expect(e.message).toContain('[3, 32, 32]');
  });

  it('an input too small for a pooling window', async () => {
    const e = await compileError(new nn.Sequential({ pool: new nn.MaxPool2d(3) }), [1, 2, 2, 2]);
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain("'pool'");
    expect(e.message).toContain('[1, 2, 2, 2]');
  });

  it('the reference CNN at a spatial size its fc1 does not fit', async () => {
    const e = await compileError(referenceCnn(), [1, 3, 64, 64]);
    expect(e.message).toContain("'fc1'");
    expect(e.message).toContain('4096');
    expect(e.message).toContain('[1, 16384]');
  });
});

describe('backendInfo', () => {
  it("reports the build that runs: 'relaxed' on this Node (the loader enables the V8 flag)", async () => {
    const info = await backendInfo();
    expect(info.name).toBe('wasm');
    expect(info.features?.simd).toBe(true);
    expect(info.features?.relaxedSimd).toBe(true);
    expect(info.build).toBe('relaxed');
  });

  it("a forced build reports itself ('scalar', 'simd')", async () => {
    expect((await getBackend('wasm', { build: 'scalar' })).info().build).toBe('scalar');
    expect((await getBackend('wasm', { build: 'simd' })).info().build).toBe('simd');
    const model = poolingModel();
    await model.to('wasm', { build: 'scalar' });
    expect((await model.currentBackend()).info().build).toBe('scalar');
  });

  it('the reference backend reports itself', async () => {
    expect((await backendInfo('reference')).name).toBe('reference');
  });
});

describe('plan lifetime', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await loadBackend(wasmUnderTest[0]);
  });

  it('disposing plans returns their arena memory', async () => {
    const model = poolingModel().eval();
    await model.to('wasm', { build: wasmUnderTest[0].build, threads: wasmUnderTest[0].threads });
    expect(await model.currentBackend()).toBe(backend);
    const before = backend.memory.bytesInUse;
    await model.forward(tensor(randomArray(3 * 3 * 20 * 20, 4), [3, 3, 20, 20]));
    expect(backend.memory.bytesInUse).toBeGreaterThan(before);
    model.releasePlans();
    expect(backend.memory.bytesInUse).toBe(before);
  });

  it('a plan that fails to compile (missing kernel) gives back what the kernels before it allocated', async () => {
    // Batch norm packs its scale/shift in the arena when prepared; the softmax after it has no kernel here.
    const partial: Backend = { ...backend, name: 'wasm-without-softmax', kernels: { ...backend.kernels, softmax: undefined } };
    const model = new nn.Sequential({ bn: new nn.BatchNorm2d(3), softmax: new nn.Softmax(1) }).eval();
    const before = backend.memory.bytesInUse;
    expect(() => new Plan(model.toGraph(), [[1, 3, 4, 4]], partial)).toThrow(
      /'softmax' \(Softmax\): backend 'wasm-without-softmax' has no Softmax kernel/,
    );
    expect(backend.memory.bytesInUse).toBe(before);
  });

  it('the reference backend runs a plan built directly from a graph', () => {
    const ref = createReferenceBackend();
    const model = poolingModel().eval();
    const plan = new Plan(model.toGraph(), [[1, 3, 5, 5]], ref);
    const [out] = plan.run([randomArray(75, 3)]);
    expect(out.length).toBe(3);
    expect(out.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
    plan.dispose();
  });
});

describe('NaN handling matches PyTorch on the reference and every wasm build', () => {
  // torch: relu(nan) = nan, max_pool2d propagates nan, softmax of a row with nan is nan.
  const model = () =>
    new nn.Sequential({
      relu: new nn.ReLU(),
      pool: new nn.MaxPool2d(2),
      flatten: new nn.Flatten(),
      softmax: new nn.Softmax(1),
    }).eval();
  const x = new Float32Array(2 * 1 * 2 * 4).map((_, i) => i / 10 - 0.3);
  x[1] = Number.NaN; // sample 0, first window

  for (const b of ['reference' as const, ...wasmUnderTest]) {
    it(typeof b === 'string' ? b : b.label, async () => {
      const m = model();
      const relu = await forwardOn(new nn.Sequential(new nn.ReLU()), b, [2, 1, 2, 4], x);
      expect(relu[1]).toBeNaN();
      expect(relu[0]).toBe(0);
      const out = await forwardOn(m, b, [2, 1, 2, 4], x);
      expect(out[0]).toBeNaN();
      expect(out[1]).toBeNaN();
      expect(out[2] + out[3]).toBeCloseTo(1, 6);
    });
  }
});

describe('plans follow every layer mode, not only the root one', () => {
  it("net.eval() then a child's .train() compiles a new plan with that child in training mode", async () => {
    const bn = new nn.BatchNorm2d(2);
    bn.runningMean.set(new Float32Array([5, -5]));
    const net = new nn.Sequential({ bn, act: new nn.Tanh() }).eval();
    await net.to('wasm');
    const x = tensor(randomArray(2 * 2 * 3 * 3, 12, 1), [2, 2, 3, 3]);
    const evalPlan = await net.plan(x.shape);
    const evalOut = await (await net.forward(x)).data();
    bn.train(); // the root stays in eval mode
    expect(await net.plan(x.shape)).not.toBe(evalPlan);
    const trainOut = await (await net.forward(x)).data();
    // Batch statistics now: tanh(normalized) averages to about 0 per channel; the running mean of ±5 is not used.
    for (const ch of [0, 1]) {
      let mean = 0;
      for (let b = 0; b < 2; b++) for (let i = 0; i < 9; i++) mean += Math.atanh(trainOut[(b * 2 + ch) * 9 + i]) / 18;
      expect(Math.abs(mean)).toBeLessThan(1e-4);
    }
    expect([...trainOut]).not.toEqual([...evalOut]);
    bn.eval();
    expect(await net.plan(x.shape)).toBe(evalPlan);
    net.releasePlans();
  });
});

describe('training plans follow every layer mode too', () => {
  it("net.train() then a child's .eval() (frozen batch norm) compiles a new training plan", async () => {
    const bn = new nn.BatchNorm2d(2);
    bn.runningMean.set(new Float32Array([0.5, -0.5]));
    bn.runningVar.set(new Float32Array([2, 0.5]));
    const net = new nn.Sequential({ bn, act: new nn.Tanh() }).train();
    await net.to('wasm');
    const xs = randomArray(2 * 2 * 9, 13, 1);
    const x = tensor(xs, [2, 2, 3, 3]);
    const batchStats = (await (await net.forward(x)).data()).slice();
    const runningMean = [...bn.runningMean.values];
    const runningVar = [...bn.runningVar.values];
    bn.eval();
    const frozen = await (await net.forward(x)).data();
    expect([...frozen]).not.toEqual([...batchStats]);
    // Eval-mode batch norm: the running statistics normalize, and they no longer move.
    for (let i = 0; i < xs.length; i++) {
      const ch = Math.floor(i / 9) % 2;
      expect(frozen[i]).toBeCloseTo(Math.tanh((xs[i] - runningMean[ch]) / Math.sqrt(runningVar[ch] + 1e-5)), 5);
    }
    expect([...bn.runningMean.values]).toEqual(runningMean);
    net.releasePlans();
  });
});

describe('training-mode forward kernels agree with the reference', () => {
  function onePlan(
    op: 'dropout' | 'batchNorm2d',
    attrs: object,
    params: Record<string, Parameter>,
    shape: number[],
    backend: Backend,
  ): Plan {
    const g = new Graph();
    const x = g.addInput();
    g.outputs = [g.addNode(op, op, attrs as never, [x], params)];
    return new Plan(g, [shape], backend);
  }

  for (const b of wasmUnderTest) {
    it(`${b.label}: dropout masks are the reference's bit for bit, call after call`, async () => {
      const backend = await loadBackend(b);
      const shape = [3, 5, 7, 9];
      const x = randomArray(3 * 5 * 7 * 9, 21, 3);
      for (const p of [0.1, 0.5, 0.7]) {
        const attrs = { p, training: true, seed: 99 };
        const ref = onePlan('dropout', attrs, {}, shape, createReferenceBackend());
        const wasm = onePlan('dropout', attrs, {}, shape, backend);
        let zeros = 0;
        for (let call = 0; call < 3; call++) {
          const want = ref.run([x])[0];
          const got = wasm.run([x])[0];
          expect(got).toEqual(want);
          zeros += want.filter((v) => v === 0).length;
        }
        // The mask really drops about p of the values.
        expect(Math.abs(zeros / (3 * x.length) - p)).toBeLessThan(0.05);
        ref.dispose();
        wasm.dispose();
      }
    });

    it(`${b.label}: batch norm in training mode updates the running statistics like the reference`, async () => {
      const backend = await loadBackend(b);
      const shape = [4, 6, 5, 7];
      const attrs = { numFeatures: 6, eps: 1e-5, momentum: 0.2, training: true };
      const make = () => ({
        weight: new Parameter([6], { values: randomArray(6, 1, 1) }),
        bias: new Parameter([6], { values: randomArray(6, 2, 1) }),
        running_mean: new Parameter([6], { isBuffer: true, values: randomArray(6, 3, 1) }),
        running_var: new Parameter([6], { isBuffer: true, values: new Float32Array(6).fill(1.5) }),
      });
      const refParams = make();
      const wasmParams = make();
      const ref = onePlan('batchNorm2d', attrs, refParams, shape, createReferenceBackend());
      const wasm = onePlan('batchNorm2d', attrs, wasmParams, shape, backend);
      for (let step = 0; step < 3; step++) {
        // Inputs with a channel offset and scale, so the statistics are far from 0 and 1.
        const x = randomArray(4 * 6 * 35, 30 + step, 2).map((v, i) => v * (1 + (i % 3)) + (Math.floor(i / 35) % 6));
        expectWithin(wasm.run([x])[0], ref.run([x])[0], 1e-5, `output step ${step}`);
        expectWithin(wasmParams.running_mean.values, refParams.running_mean.values, 1e-6, `running_mean step ${step}`);
        expectWithin(wasmParams.running_var.values, refParams.running_var.values, 1e-6, `running_var step ${step}`);
      }
      expect(wasmParams.running_mean.version).toBe(refParams.running_mean.version);
      ref.dispose();
      wasm.dispose();
    });
  }
});
