import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Tensor, getBackend, importOnnx } from '../src/index.js';
import { backendsUnderTest } from './helpers/backends.js';
import { attr, graphModel, init } from './helpers/onnx-build.js';
import { randomArray } from './helpers/random.js';
import { webgpuUnderTest } from './helpers/webgpu.js';

/**
 * PRelu, Elu, Selu, Softplus, Mish, Where, Gather of an activation, 1-D/3-D Conv, 3-D MaxPool and edge/reflect
 * Pad, each in a hand-built model against onnxruntime-node on every backend; the PRelu slope trains (a single slope, as torch's
 * nn.PReLU(), is a parameter with a gradient); and on webgpu every one of them runs a WGSL kernel, forward
 * and backward.
 */
const shape = [2, 4, 5, 6];
const n = shape.reduce((a, b) => a * b, 1);

// x → PRelu(slope per channel) → Mish → Gather(axis 1, [3, 0, -1]) → Where(constant mask, ·, Elu(·)) →
// Softplus → Selu: every new activation and selection in one graph.
const chain = () =>
  graphModel(
    18,
    shape,
    [
      { op_type: 'PRelu', input: ['x', 'slope'], output: ['p'] },
      { op_type: 'Mish', input: ['p'], output: ['m'] },
      { op_type: 'Gather', input: ['m', 'idx'], output: ['g'], attribute: [attr.i('axis', 1)] },
      { op_type: 'Elu', input: ['g'], output: ['e'], attribute: [attr.f('alpha', 0.7)] },
      { op_type: 'Where', input: ['mask', 'g', 'e'], output: ['w'] },
      { op_type: 'Softplus', input: ['w'], output: ['s'] },
      { op_type: 'Selu', input: ['s'], output: ['y'] },
    ],
    [
      init('slope', [4, 1, 1], [0.1, -0.3, 0.25, 2]),
      init('idx', [3], [3, 0, -1], true),
      { name: 'mask', dims: [1, 1, 6], data_type: 9, int32_data: [1, 0, 0, 1, 1, 0] },
    ],
  );

async function ortRun(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const y = (await session.run({ x: new ort.Tensor('float32', x, dims) })).y;
  return { data: y.data as Float32Array, dims: [...y.dims] };
}

function expectNear(got: Float32Array, want: Float32Array, what: string) {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < got.length; i++)
    expect(Math.abs(got[i] - want[i]), `${what} at ${i}`).toBeLessThan(1e-5 + 1e-5 * Math.abs(want[i]));
}

describe('ONNX breadth II vs onnxruntime-node', () => {
  const x = randomArray(n, 5, 2);
  const models: [string, () => Uint8Array, number[]][] = [
    ['activation and selection chain', chain, shape],
    [
      'Conv 1-D with padding and stride',
      () =>
        graphModel(
          13,
          [2, 3, 11],
          [
            {
              op_type: 'Conv',
              input: ['x', 'w', 'b'],
              output: ['y'],
              attribute: [attr.ints('pads', [2, 1]), attr.ints('strides', [2])],
            },
          ],
          [init('w', [5, 3, 4], Array.from(randomArray(60, 3, 1))), init('b', [5], [0.1, 0.2, -0.3, 0, 1])],
        ),
      [2, 3, 11],
    ],
    [
      'Conv 3-D grouped, dilated, padded',
      () =>
        graphModel(
          13,
          [1, 4, 5, 6, 5],
          [
            {
              op_type: 'Conv',
              input: ['x', 'w'],
              output: ['y'],
              attribute: [attr.i('group', 2), attr.ints('dilations', [2, 1, 1]), attr.ints('pads', [1, 1, 0, 2, 1, 1])],
            },
          ],
          [init('w', [4, 2, 2, 3, 2], Array.from(randomArray(96, 4, 1)))],
        ),
      [1, 4, 5, 6, 5],
    ],
    [
      'MaxPool 3-D ceil mode',
      () =>
        graphModel(
          13,
          [1, 2, 5, 5, 6],
          [
            {
              op_type: 'MaxPool',
              input: ['x'],
              output: ['y'],
              attribute: [attr.ints('kernel_shape', [2, 3, 2]), attr.ints('strides', [2, 2, 2]), attr.i('ceil_mode', 1)],
            },
          ],
        ),
      [1, 2, 5, 5, 6],
    ],
  ];
  for (const mode of ['reflect', 'edge'])
    models.push([
      `Pad ${mode}, a crop on one side`,
      () =>
        graphModel(
          13,
          shape,
          [{ op_type: 'Pad', input: ['x', 'p'], output: ['y'], attribute: [attr.s('mode', mode)] }],
          [init('p', [8], [0, 1, 2, 0, 0, 0, -1, 3], true)],
        ),
      shape,
    ]);
  for (const [name, build, dims] of models) {
    it(name, async () => {
      const bytes = build();
      const input = randomArray(
        dims.reduce((a, b) => a * b, 1),
        7,
        2,
      );
      const want = await ortRun(bytes, input, dims);
      for (const b of backendsUnderTest.filter((b) => (b.threads ?? 1) === 1)) {
        const model = await importOnnx(bytes);
        await model.to(b.name, b.build ? { build: b.build } : {});
        const { y } = await model.run({ x: new Tensor(input, dims) });
        expect(y.shape).toEqual(want.dims);
        expectNear(y.dataSync(), want.data, `${name} on ${b.label}`);
        model.releasePlans();
      }
    });
  }

  it('a single PRelu slope is a trainable parameter: its gradient is Σ dY·x over x < 0', async () => {
    const bytes = graphModel(
      13,
      shape,
      [{ op_type: 'PRelu', input: ['x', 'slope'], output: ['y'] }],
      [init('slope', [1], [0.2])],
    );
    const model = await importOnnx(bytes);
    const slope = model.stateDict().slope;
    expect(slope, 'the slope is in the state dict').toBeDefined();
    const p = model.parameters().find((q) => q.shape.length === 1 && q.shape[0] === 1);
    expect(p?.requiresGrad).toBe(true);
    await model.to('wasm');
    model.train();
    const y = await model.forward(new Tensor(x, shape));
    const dy = randomArray(n, 6, 1);
    await y.backward(dy);
    let want = 0;
    for (let i = 0; i < n; i++) if (x[i] <= 0) want += dy[i] * x[i];
    if (!p?.grad) throw new Error('the slope got no gradient');
    const got = p.grad[0];
    expect(Math.abs(got - want)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want)));
  });
});

describe.runIf(webgpuUnderTest)('ONNX breadth II on webgpu', () => {
  it('every op of the chain runs on webgpu (Gather with a negative index, Where), forward and backward', async () => {
    const gpu = await getBackend('webgpu');
    for (const op of ['where', 'gather', 'binaryGrad', 'whereGrad', 'gatherGrad', 'reduceMaxGrad', 'unaryGrad'])
      expect(gpu.kernels[op as never], op).toBeTypeOf('function');
    const bytes = chain();
    const x = randomArray(n, 5, 2);
    const want = await ortRun(bytes, x, shape);
    const model = await importOnnx(bytes);
    await model.to('webgpu');
    const { y } = await model.run({ x: new Tensor(x, shape) });
    expectNear(await y.data(), want.data, 'chain on webgpu');
    const kernels = (await model.plan(shape)).placement.filter((s) => s.kind === 'kernel');
    expect(kernels.filter((s) => s.backend !== 'webgpu').map((s) => `${s.op}@${s.backend}`)).toEqual([]);
    expect(new Set(kernels.map((s) => s.op))).toEqual(new Set(['constant', 'binary', 'unary', 'gather', 'where']));
    // Backward on webgpu against wasm: the PRelu slope's gradient flows back through every op of the chain
    // (Selu, Softplus, Where, Elu, Gather's scatter-add, Mish, PRelu), each a webgpu backward kernel.
    const cpu = await importOnnx(bytes);
    await cpu.to('wasm');
    const dy = randomArray(want.data.length, 7, 1);
    const grads: Float32Array[] = [];
    for (const m of [model, cpu]) {
      m.train();
      const out = await m.forward(new Tensor(x, shape));
      await out.backward(dy);
      await m.syncToHost();
      const p = m.parameters().find((q) => q.shape.length === 3 && q.shape[0] === 4);
      if (!p?.grad) throw new Error('the slope got no gradient');
      grads.push(Float32Array.from(p.grad));
    }
    expect(grads[0].some((v) => v !== 0)).toBe(true);
    expectNear(grads[0], grads[1], 'dL/dslope on webgpu vs wasm');
    cpu.releasePlans();
    model.releasePlans();
  });
});
