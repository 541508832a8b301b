import type { BinaryKind } from '../../src/ops/types.js';
import type { OpCase } from '../helpers/single-op.js';

/** Cases of the ONNX tensor ops (src/ops/tensor-ops.ts): broadcasts the importer produces, odd sizes. */
const bin = (kind: BinaryKind, a: number[], b: number[], note = ''): OpCase<'binary'> => ({
  name: `binary ${kind} [${a}] by [${b}]${note}`,
  op: 'binary',
  attrs: { kind },
  inputs: [a, b],
});

export const tensorOpCases: OpCase[] = [
  bin('add', [2, 5, 7, 9], [2, 5, 7, 9], ' (residual)'),
  bin('mul', [3, 37], [3, 37]),
  bin('add', [2, 6, 5, 7], [6, 1, 1], ' (per channel)'),
  bin('mul', [1, 13, 3, 3], [1, 13, 1, 1], ' (per channel)'),
  bin('sub', [2, 3, 5, 5], [1], ' (scalar)'),
  bin('div', [2, 3, 4, 5], [5]),
  bin('sub', [3, 1], [1, 4], ' (outer)'),
  bin('sub', [1], [2, 3, 5, 5], ' (scalar on the left)'),
  bin('div', [2, 5, 1, 1], [2, 5, 6, 7], ' (per channel on the left)'),
  bin('sub', [3, 11, 13], [3, 11, 13]),
  bin('div', [2, 9, 5], [9, 1], ' (per row)'),
  bin('div', [7], [2, 3, 7], ' (left broadcast)'),
  bin('add', [2, 6, 1, 5], [6, 3, 1], ' (both broadcast)'),
  { name: 'constant [3, 4]', op: 'constant', attrs: { shape: [3, 4] }, inputs: [] },
  {
    name: 'concat channels',
    op: 'concat',
    attrs: { axis: 1 },
    inputs: [
      [2, 3, 4, 5],
      [2, 5, 4, 5],
      [2, 1, 4, 5],
    ],
  },
  {
    name: 'concat last axis',
    op: 'concat',
    attrs: { axis: -1 },
    inputs: [
      [3, 2],
      [3, 7],
    ],
  },
  { name: 'transpose NCHW to NHWC', op: 'transpose', attrs: { perm: [0, 2, 3, 1] }, inputs: [[2, 3, 5, 7]] },
  { name: 'transpose 2d', op: 'transpose', attrs: { perm: [1, 0] }, inputs: [[9, 13]] },
  { name: 'pad spatial asymmetric', op: 'pad', attrs: { pads: [0, 0, 1, 2, 0, 0, 3, 0], value: 0.5 }, inputs: [[2, 3, 4, 5]] },
  { name: 'pad crop (negative)', op: 'pad', attrs: { pads: [0, -1, 1, 0, 0, 1, -2, 2], value: 0 }, inputs: [[1, 4, 6, 3]] },
  { name: 'clip -0.5..1.5', op: 'unary', attrs: { kind: 'clip', min: -0.5, max: 1.5 }, inputs: [[3, 5, 7]] },
  { name: 'clip min only', op: 'unary', attrs: { kind: 'clip', min: 0.25, max: Number.POSITIVE_INFINITY }, inputs: [[37]] },
  { name: 'hardSwish', op: 'unary', attrs: { kind: 'hardSwish', min: 0, max: 0 }, inputs: [[2, 3, 9, 9]] },
  {
    name: 'matmul 2d',
    op: 'matmul',
    attrs: {},
    inputs: [
      [5, 7],
      [7, 3],
    ],
  },
  {
    name: 'matmul batched broadcast',
    op: 'matmul',
    attrs: {},
    inputs: [
      [2, 3, 4, 6],
      [3, 6, 5],
    ],
  },
  // Odd shapes for the WebGPU kernels' unrolled index arithmetic: three inputs on the first axis, a
  // rotation of three axes, a broadcast batch on A's side, both begin and end crops.
  {
    name: 'concat three inputs axis 0',
    op: 'concat',
    attrs: { axis: 0 },
    inputs: [
      [1, 3, 5],
      [3, 3, 5],
      [2, 3, 5],
    ],
  },
  { name: 'transpose rotate 3d', op: 'transpose', attrs: { perm: [2, 0, 1] }, inputs: [[3, 5, 7]] },
  {
    name: 'matmul broadcast batch on A',
    op: 'matmul',
    attrs: {},
    inputs: [
      [1, 4, 6],
      [3, 6, 2],
    ],
  },
  { name: 'pad crop both ends', op: 'pad', attrs: { pads: [-1, 2, -2, 1], value: -3 }, inputs: [[5, 7]] },
];
