import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Tensor, importOnnx } from '../src/index.js';
import { attr, graphModel, init } from './helpers/onnx-build.js';
import { randomArray } from './helpers/random.js';

/**
 * Attribute vs input forms across opsets 9-18, each checked against onnxruntime-node on the same
 * hand-built model: Clip min/max (attributes before 11, inputs from 11), Pad pads (attribute before 11,
 * input from 11, axes input at 18), Softmax axis (2-D coercion before 13, one axis from 13), Dropout
 * ratio (attribute before 12, input from 12), Reshape 0/-1, Gemm transA/transB/alpha/beta, MatMul with a
 * constant, Flatten axis, Transpose, Concat, Sub/Div with broadcast constants, LeakyRelu, HardSwish.
 */
const shape = [2, 3, 4, 5];
const cases: { name: string; opset: number; model: () => Uint8Array; input?: number[] }[] = [
  {
    name: 'Clip attrs (opset 9) as ReLU6',
    opset: 9,
    model: () =>
      graphModel(9, shape, [{ op_type: 'Clip', input: ['x'], output: ['y'], attribute: [attr.f('min', 0), attr.f('max', 6)] }]),
  },
  {
    name: 'Clip attrs (opset 9) general',
    opset: 9,
    model: () =>
      graphModel(9, shape, [
        { op_type: 'Clip', input: ['x'], output: ['y'], attribute: [attr.f('min', -0.3), attr.f('max', 0.7)] },
      ]),
  },
  {
    name: 'Clip inputs (opset 11), max only',
    opset: 11,
    model: () => graphModel(11, shape, [{ op_type: 'Clip', input: ['x', '', 'hi'], output: ['y'] }], [init('hi', [], [0.5])]),
  },
  {
    name: 'Clip inputs (opset 13) ReLU6',
    opset: 13,
    model: () =>
      graphModel(
        13,
        shape,
        [{ op_type: 'Clip', input: ['x', 'lo', 'hi'], output: ['y'] }],
        [init('lo', [], [0]), init('hi', [], [6])],
      ),
  },
  {
    name: 'Pad attr (opset 9)',
    opset: 9,
    model: () =>
      graphModel(9, shape, [
        {
          op_type: 'Pad',
          input: ['x'],
          output: ['y'],
          attribute: [attr.ints('pads', [0, 0, 1, 2, 0, 0, 0, 1]), attr.f('value', 0.25)],
        },
      ]),
  },
  {
    name: 'Pad input (opset 11)',
    opset: 11,
    model: () =>
      graphModel(
        11,
        shape,
        [{ op_type: 'Pad', input: ['x', 'p', 'v'], output: ['y'] }],
        [init('p', [8], [0, 1, 1, 0, 0, 0, 2, 1], true), init('v', [], [-1])],
      ),
  },
  {
    name: 'Pad axes (opset 18)',
    opset: 18,
    model: () =>
      graphModel(
        18,
        shape,
        [{ op_type: 'Pad', input: ['x', 'p', '', 'axes'], output: ['y'] }],
        [init('p', [4], [1, 0, 2, 3], true), init('axes', [2], [2, 3], true)],
      ),
  },
  {
    name: 'Softmax axis 1 coerced to 2-D (opset 11)',
    opset: 11,
    model: () => graphModel(11, shape, [{ op_type: 'Softmax', input: ['x'], output: ['y'], attribute: [attr.i('axis', 1)] }]),
  },
  {
    name: 'Softmax default axis (opset 9: 2-D at 1)',
    opset: 9,
    model: () => graphModel(9, shape, [{ op_type: 'Softmax', input: ['x'], output: ['y'] }]),
  },
  {
    name: 'Softmax axis 1 (opset 13: one axis)',
    opset: 13,
    model: () => graphModel(13, shape, [{ op_type: 'Softmax', input: ['x'], output: ['y'], attribute: [attr.i('axis', 1)] }]),
  },
  {
    name: 'Softmax default axis (opset 13: last)',
    opset: 13,
    model: () => graphModel(13, shape, [{ op_type: 'Softmax', input: ['x'], output: ['y'] }]),
  },
  {
    name: 'Dropout ratio attr (opset 10)',
    opset: 10,
    model: () => graphModel(10, shape, [{ op_type: 'Dropout', input: ['x'], output: ['y'], attribute: [attr.f('ratio', 0.3)] }]),
  },
  {
    name: 'Dropout ratio input (opset 12)',
    opset: 12,
    model: () => graphModel(12, shape, [{ op_type: 'Dropout', input: ['x', 'r'], output: ['y'] }], [init('r', [], [0.3])]),
  },
  {
    name: 'Reshape 0 and -1 (opset 14)',
    opset: 14,
    model: () =>
      graphModel(14, shape, [{ op_type: 'Reshape', input: ['x', 's'], output: ['y'] }], [init('s', [3], [0, -1, 5], true)]),
  },
  {
    name: 'Flatten axis 2 + Gemm transA=0 transB=0 alpha beta',
    opset: 9,
    model: () =>
      graphModel(
        9,
        shape,
        [
          { op_type: 'Flatten', input: ['x'], output: ['f'], attribute: [attr.i('axis', 1)] },
          { op_type: 'Gemm', input: ['f', 'w', 'c'], output: ['y'], attribute: [attr.f('alpha', 0.5), attr.f('beta', 2)] },
        ],
        [init('w', [60, 7], Array.from(randomArray(420, 3, 0.2))), init('c', [7], Array.from(randomArray(7, 4, 1)))],
      ),
  },
  {
    name: 'Gemm transB=1 with [1, N] bias (opset 13)',
    opset: 13,
    model: () =>
      graphModel(
        13,
        shape,
        [
          { op_type: 'Flatten', input: ['x'], output: ['f'] },
          { op_type: 'Gemm', input: ['f', 'w', 'c'], output: ['y'], attribute: [attr.i('transB', 1)] },
        ],
        [init('w', [6, 60], Array.from(randomArray(360, 5, 0.2))), init('c', [1, 6], Array.from(randomArray(6, 6, 1)))],
      ),
  },
  {
    name: 'MatMul with a constant on a 4-D input (opset 13)',
    opset: 13,
    model: () =>
      graphModel(
        13,
        shape,
        [{ op_type: 'MatMul', input: ['x', 'w'], output: ['y'] }],
        [init('w', [5, 3], Array.from(randomArray(15, 7, 1)))],
      ),
  },
  {
    name: 'Transpose + Concat + Sub/Div per-channel constants (opset 17)',
    opset: 17,
    model: () =>
      graphModel(
        17,
        shape,
        [
          { op_type: 'Sub', input: ['x', 'm'], output: ['a'] },
          { op_type: 'Div', input: ['a', 's'], output: ['b'] },
          { op_type: 'Transpose', input: ['b'], output: ['t'], attribute: [attr.ints('perm', [0, 2, 3, 1])] },
          { op_type: 'Transpose', input: ['x'], output: ['u'], attribute: [attr.ints('perm', [0, 2, 3, 1])] },
          { op_type: 'Concat', input: ['t', 'u'], output: ['y'], attribute: [attr.i('axis', -1)] },
        ],
        [init('m', [3, 1, 1], [0.1, -0.2, 0.3]), init('s', [1, 3, 1, 1], [2, 0.5, 4])],
      ),
  },
  {
    name: 'LeakyRelu + HardSwish + Mul scalar (opset 14)',
    opset: 14,
    model: () =>
      graphModel(
        14,
        shape,
        [
          { op_type: 'LeakyRelu', input: ['x'], output: ['a'], attribute: [attr.f('alpha', 0.2)] },
          { op_type: 'HardSwish', input: ['a'], output: ['b'] },
          { op_type: 'Mul', input: ['b', 'k'], output: ['y'] },
        ],
        [init('k', [], [3])],
      ),
  },
  {
    name: 'AveragePool asymmetric pads count_include_pad (opset 11)',
    opset: 11,
    model: () =>
      graphModel(11, shape, [
        {
          op_type: 'AveragePool',
          input: ['x'],
          output: ['y'],
          attribute: [attr.ints('kernel_shape', [2, 3]), attr.ints('pads', [0, 1, 1, 1]), attr.i('count_include_pad', 1)],
        },
      ]),
  },
  {
    name: 'MaxPool SAME_UPPER stride 2 (opset 10)',
    opset: 10,
    model: () =>
      graphModel(10, shape, [
        {
          op_type: 'MaxPool',
          input: ['x'],
          output: ['y'],
          attribute: [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.s('auto_pad', 'SAME_UPPER')],
        },
      ]),
  },
];

describe('ONNX opset forms vs onnxruntime-node', () => {
  for (const c of cases) {
    it(`${c.name}`, async () => {
      const bytes = c.model();
      const x = randomArray(
        shape.reduce((a, b) => a * b, 1),
        9,
        2,
      );
      const session = await ort.InferenceSession.create(bytes);
      const expected = (await session.run({ x: new ort.Tensor('float32', x, shape) })).y;
      for (const backend of ['reference', 'wasm']) {
        const model = await importOnnx(bytes);
        await model.to(backend);
        const { y } = await model.run({ x: new Tensor(x, shape) });
        expect(y.shape, `${c.name} on ${backend}`).toEqual(expected.dims);
        const got = y.dataSync();
        const want = expected.data as Float32Array;
        for (let i = 0; i < got.length; i++)
          expect(Math.abs(got[i] - want[i]), `${c.name} on ${backend} at ${i}`).toBeLessThan(1e-5 + 1e-5 * Math.abs(want[i]));
        model.releasePlans();
      }
    });
  }
});
