import type { ReduceKind, UnaryAttrs, UnaryKind } from '../../src/ops/types.js';
import type { OpCase } from '../helpers/single-op.js';
import type { GradCase } from './grad.js';

/**
 * Cases of the ops that import MobileNetV3, MNASNet, ShuffleNetV2 and ConvNeXt (unary math, reductions,
 * expand, slices, layer norm, max/min/pow): odd sizes, lengths that are not multiples of 4 (SIMD tails),
 * every reduction layout ([outer, r, 1], [outer, r, inner], several separate runs of axes).
 */
const u = (kind: UnaryKind, extra: Partial<UnaryAttrs> = {}): UnaryAttrs => ({ kind, min: 0, max: 0, ...extra });
const positiveKinds: UnaryKind[] = ['sqrt', 'log', 'pow', 'reciprocal'];

function unaryCase(kind: UnaryKind, shape: number[], extra: Partial<UnaryAttrs> = {}, note = ''): OpCase<'unary'> {
  return {
    name: `unary ${kind}${note} [${shape}]`,
    op: 'unary',
    attrs: u(kind, extra),
    inputs: [shape],
    positive: positiveKinds.includes(kind),
  };
}

const reduceCase = (kind: ReduceKind, x: number[], axes: number[], keepdims = true): OpCase<'reduce'> => ({
  name: `reduce ${kind} [${x}] axes [${axes}]${keepdims ? '' : ' dropped'}`,
  op: 'reduce',
  attrs: { kind, axes, keepdims },
  inputs: [x],
});

export const breadthOpCases: OpCase[] = [
  unaryCase('hardSigmoid', [2, 7, 3, 3], { alpha: 1 / 6, beta: 0.5 }),
  unaryCase('hardSigmoid', [37], { alpha: 0.2, beta: 0.5 }, ' onnx default'),
  unaryCase('erf', [3, 5, 7]),
  unaryCase('erf', [4, 9], {}, ' wide'),
  unaryCase('gelu', [2, 5, 13]),
  // Past the rational erf's clamp (|x| = 4) and GELU's saturation on both sides.
  { ...unaryCase('erf', [5, 41], {}, ' range ±7'), scale: 7 },
  { ...unaryCase('gelu', [3, 43], {}, ' range ±9'), scale: 9 },
  unaryCase('silu', [3, 11]),
  unaryCase('sqrt', [2, 3, 7]),
  unaryCase('exp', [5, 7]),
  unaryCase('log', [41]),
  unaryCase('reciprocal', [3, 13]),
  unaryCase('pow', [2, 19], { alpha: 2 }, ' square'),
  unaryCase('pow', [2, 19], { alpha: 1.5 }, ' 1.5'),
  unaryCase('abs', [23]),
  unaryCase('affine', [2, 3, 11], { alpha: -1, beta: 0 }, ' neg'),
  unaryCase('affine', [17], { alpha: 0.5, beta: 1 }),
  reduceCase('mean', [2, 5, 7, 9], [2, 3]),
  reduceCase('mean', [2, 5, 7, 9], [2, 3], false),
  reduceCase('sum', [3, 6, 5], [1]),
  reduceCase('max', [3, 6, 5], [1]),
  reduceCase('mean', [2, 3, 4, 13], [3]),
  reduceCase('max', [2, 3, 4, 13], [3], false),
  reduceCase('sum', [2, 3, 5, 7], [0, 2]),
  reduceCase('mean', [2, 3, 5, 7], [0, 1, 3]),
  reduceCase('max', [2, 3, 5, 7], [0, 1, 2, 3], false),
  reduceCase('sum', [4, 1, 6], [1]),
  reduceCase('max', [2, 5, 3, 4], [1, 3], false),
  reduceCase('sum', [3, 4, 5], [0, 1, 2]),
  reduceCase('mean', [1, 7, 1, 5], [0, 2], false),
  { name: 'expand [3] to [2, 4, 3] (leading axes)', op: 'expand', attrs: { shape: [2, 4, 3], scale: 1 }, inputs: [[3]] },
  {
    name: 'slice reversed last axis, one row',
    op: 'slice',
    attrs: { starts: [0, 2, 6], steps: [1, 1, -1], sizes: [2, 1, 7] },
    inputs: [[2, 3, 7]],
  },
  { name: 'layer norm one column', op: 'layerNorm', attrs: { normalizedShape: [1], eps: 1e-5, affine: true }, inputs: [[5, 1]] },
  { name: 'expand [5, 1, 1] to [2, 5, 3, 7]', op: 'expand', attrs: { shape: [2, 5, 3, 7], scale: 1 }, inputs: [[5, 1, 1]] },
  { name: 'expand scaled [3, 1] to [3, 9]', op: 'expand', attrs: { shape: [3, 9], scale: 0.25 }, inputs: [[3, 1]] },
  {
    name: 'slice channels (shuffle split)',
    op: 'slice',
    attrs: { starts: [0, 3, 0, 0], steps: [1, 1, 1, 1], sizes: [2, 3, 5, 7] },
    inputs: [[2, 6, 5, 7]],
  },
  {
    name: 'slice strided and reversed',
    op: 'slice',
    attrs: { starts: [1, 8, 0], steps: [1, -2, 3], sizes: [2, 4, 3] },
    inputs: [[3, 9, 7]],
  },
  {
    name: 'layer norm last axis (channels last)',
    op: 'layerNorm',
    attrs: { normalizedShape: [13], eps: 1e-6, affine: true },
    inputs: [[2, 3, 5, 13]],
  },
  {
    name: 'layer norm two axes',
    op: 'layerNorm',
    attrs: { normalizedShape: [4, 6], eps: 1e-5, affine: true },
    inputs: [[3, 4, 6]],
  },
  { name: 'layer norm no affine', op: 'layerNorm', attrs: { normalizedShape: [9], eps: 1e-5, affine: false }, inputs: [[7, 9]] },
  { name: 'binary max broadcast', op: 'binary', attrs: { kind: 'max' }, inputs: [[2, 3, 5], [1]] },
  {
    name: 'binary min same',
    op: 'binary',
    attrs: { kind: 'min' },
    inputs: [
      [3, 7],
      [3, 7],
    ],
  },
  {
    name: 'binary max per channel',
    op: 'binary',
    attrs: { kind: 'max' },
    inputs: [
      [2, 6, 5],
      [6, 1],
    ],
  },
  {
    name: 'binary min general',
    op: 'binary',
    attrs: { kind: 'min' },
    inputs: [
      [2, 1, 5],
      [3, 1],
    ],
  },
  { name: 'binary pow', op: 'binary', attrs: { kind: 'pow' }, inputs: [[3, 5], [5]], positive: true },
];

/** Gradient cases (finite differences on the reference, and each backend against it). */
export const breadthGradCases: GradCase[] = [
  { ...unaryCase('hardSigmoid', [3, 4, 5], { alpha: 1 / 6, beta: 0.5 }), piecewise: true },
  unaryCase('erf', [2, 3, 5]),
  unaryCase('gelu', [3, 7]),
  unaryCase('silu', [2, 9]),
  unaryCase('sqrt', [11]),
  unaryCase('exp', [2, 5]),
  unaryCase('log', [13]),
  unaryCase('reciprocal', [2, 7]),
  unaryCase('pow', [2, 6], { alpha: 2 }, ' square'),
  { ...unaryCase('abs', [9]), piecewise: true },
  unaryCase('affine', [2, 7], { alpha: -1.5, beta: 0.25 }),
  reduceCase('mean', [2, 3, 4, 5], [2, 3]),
  reduceCase('sum', [2, 3, 4, 5], [0, 2], false),
  reduceCase('mean', [3, 4, 7], [2], false),
  { name: 'expand grad [4, 1] to [2, 4, 3]', op: 'expand', attrs: { shape: [2, 4, 3], scale: 0.5 }, inputs: [[4, 1]] },
  {
    name: 'slice split half',
    op: 'slice',
    attrs: { starts: [0, 2, 1, 0], steps: [1, 1, 1, 1], sizes: [2, 3, 3, 4] },
    inputs: [[2, 5, 4, 4]],
  },
  {
    name: 'layer norm channels last',
    op: 'layerNorm',
    attrs: { normalizedShape: [7], eps: 1e-5, affine: true },
    inputs: [[2, 3, 4, 7]],
  },
  {
    name: 'layer norm no affine',
    op: 'layerNorm',
    attrs: { normalizedShape: [3, 5], eps: 1e-5, affine: false },
    inputs: [[2, 3, 5]],
  },
  {
    name: 'binary mul broadcast (SE gate)',
    op: 'binary',
    attrs: { kind: 'mul' },
    inputs: [
      [2, 3, 4, 5],
      [2, 3, 1, 1],
    ],
  },
  {
    name: 'binary div broadcast both',
    op: 'binary',
    attrs: { kind: 'div' },
    inputs: [
      [2, 1, 5],
      [3, 1],
    ],
    positive: true,
  },
  { name: 'binary sub left broadcast', op: 'binary', attrs: { kind: 'sub' }, inputs: [[5], [2, 3, 5]] },
];
