import type { BinaryKind, UnaryAttrs, UnaryKind } from '../../src/ops/types.js';
import type { OpCase } from '../helpers/single-op.js';
import type { GradCase } from './grad.js';

/**
 * Cases of the ops a second round of ONNX breadth brought: elu/selu/softplus/mish, PRelu (binary prelu,
 * slope per channel, scalar or broadcast both ways), Where (a 0/1 condition, broadcast), Gather of
 * activations (any axis, repeated indices, an index tensor of rank 0 and 2), and the gradients of binary
 * max/min/pow/prelu and ReduceMax. Lengths not multiples of 4 (SIMD tails), a wide input range for the
 * far branches of softplus and mish.
 */
const u = (kind: UnaryKind, extra: Partial<UnaryAttrs> = {}): UnaryAttrs => ({ kind, min: 0, max: 0, ...extra });
const SELU = { alpha: 1.6732632423543772, beta: 1.0507009873554805 };

const unary = (
  kind: UnaryKind,
  shape: number[],
  extra: Partial<UnaryAttrs> = {},
  note = '',
  scale?: number,
): OpCase<'unary'> => ({
  name: `unary ${kind}${note} [${shape}]`,
  op: 'unary',
  attrs: u(kind, extra),
  inputs: [shape],
  scale,
});

const binary = (kind: BinaryKind, a: number[], b: number[], note = ''): OpCase<'binary'> => ({
  name: `binary ${kind}${note} [${a}] [${b}]`,
  op: 'binary',
  attrs: { kind },
  inputs: [a, b],
});

const gather = (x: number[], axis: number, indices: number[], indicesShape: number[]): OpCase<'gather'> => ({
  name: `gather axis ${axis} of [${x}] at [${indices}] as [${indicesShape}]`,
  op: 'gather',
  attrs: { axis, indices, indicesShape },
  inputs: [x],
});

const where = (c: number[], x: number[], y: number[]): OpCase<'where'> => ({
  name: `where [${c}] [${x}] [${y}]`,
  op: 'where',
  attrs: {},
  inputs: [c, x, y],
  mask: [0],
});

export const selectOpCases: OpCase[] = [
  unary('elu', [2, 5, 7], { alpha: 1 }),
  unary('elu', [37], { alpha: 0.3 }, ' alpha 0.3', 0.6),
  unary('selu', [3, 11], SELU),
  unary('softplus', [2, 3, 13]),
  unary('softplus', [45], {}, ' wide', 30),
  unary('mish', [3, 17]),
  unary('mish', [45], {}, ' wide', 30),
  binary('prelu', [2, 6, 5, 3], [6, 1, 1], ' per channel'),
  binary('prelu', [3, 13], [1], ' scalar slope'),
  binary('prelu', [2, 7], [2, 7], ' same'),
  binary('prelu', [2, 1, 5], [3, 1], ' general'),
  where([2, 3, 5], [2, 3, 5], [2, 3, 5]),
  where([3, 1], [2, 3, 7], [7]),
  where([1], [4, 5], [4, 1]),
  gather([5, 7, 3], 0, [4, 0, 4], [3]),
  gather([2, 6, 5], 1, [5, 1, 0, 2], [2, 2]),
  gather([2, 3, 9], 2, [8], []),
  // Edges the WebGPU kernels index differently: the last axis, repeats, a rank-1 input, scalar operands.
  gather([3, 4, 5], 2, [4, 4, 0, 3, 4], [5]),
  gather([6], 0, [5, 0, 5, 2], [2, 2]),
  where([1], [1], [2, 3, 4]),
  where([2, 1, 4], [3, 1], [1]),
];

export const selectGradCases: GradCase[] = [
  { ...unary('elu', [2, 3, 7], { alpha: 0.5 }), piecewise: true },
  unary('elu', [13], { alpha: 1 }, ' smooth'),
  { ...unary('selu', [3, 7], SELU), piecewise: true },
  unary('softplus', [2, 9]),
  unary('mish', [3, 7]),
  unary('mish', [23], {}, ' wide', 8),
  { ...binary('prelu', [2, 4, 3, 3], [4, 1, 1], ' per channel'), piecewise: true },
  { ...binary('prelu', [3, 5], [1], ' scalar slope'), piecewise: true },
  { ...binary('max', [2, 3, 5], [3, 1]), piecewise: true },
  { ...binary('min', [4, 5], [4, 5]), piecewise: true },
  { ...binary('pow', [3, 5], [5]), positive: true },
  where([2, 3, 5], [2, 3, 5], [3, 1]),
  where([3, 1], [2, 3, 4], [4]),
  gather([5, 4, 3], 0, [4, 0, 4], [3]),
  gather([2, 6, 5], 1, [5, 1, 1, 2], [2, 2]),
  gather([2, 3, 4], 2, [3, 3, 0], [3]),
  where([1], [2, 3], [2, 3]),
  {
    name: 'reduce max axes [1, 2] of [2, 3, 4]',
    op: 'reduce',
    attrs: { kind: 'max', axes: [1, 2], keepdims: true },
    inputs: [[2, 3, 4]],
    piecewise: true,
  },
  {
    name: 'reduce max axes [1] of [3, 6, 5]',
    op: 'reduce',
    attrs: { kind: 'max', axes: [1], keepdims: true },
    inputs: [[3, 6, 5]],
    piecewise: true,
  },
  {
    name: 'reduce max axes [0, 2] dropped',
    op: 'reduce',
    attrs: { kind: 'max', axes: [0, 2], keepdims: false },
    inputs: [[2, 3, 4]],
    piecewise: true,
  },
];
