import type { Conv2dAttrs, OpName, Pool2dAttrs } from '../../src/ops/types.js';
import { noActivation } from '../../src/ops/types.js';
import { Graph } from '../../src/index.js';
import { buildTrainingGraph } from '../../src/graph/autodiff.js';
import { inferShapes } from '../../src/graph/shapes.js';
import { opDef } from '../../src/ops/index.js';
import { type OpCase, caseParams } from '../helpers/single-op.js';
import { convCase, poolCase } from './builders.js';
import { breadthGradCases } from './onnx-breadth.js';
import { selectGradCases } from './onnx-select.js';

/**
 * Forward-op cases whose gradients are checked (against finite differences on the reference backend,
 * and backend against reference). Small, awkward shapes: odd sizes, channels not a multiple of 4,
 * stride/padding/dilation/ceil-mode edges, groups and depthwise. `piecewise` marks ops with kinks,
 * where a finite difference that straddles one is detected (two step sizes disagree) and skipped.
 */
export interface GradCase extends OpCase {
  piecewise?: boolean;
}

function conv(name: string, x: number[], o: Partial<Conv2dAttrs> & { outChannels: number }): GradCase {
  const c = convCase(name, x, o);
  return { ...c, piecewise: c.attrs.activation.kind !== 'none' };
}

function pool(name: string, op: 'maxPool2d' | 'avgPool2d', x: number[], o: Partial<Pool2dAttrs>): GradCase {
  return { ...poolCase(name, op, x, o), piecewise: op === 'maxPool2d' };
}

const relu = { kind: 'relu', alpha: 0 } as const;

export const gradCases: GradCase[] = [
  conv('conv 3x3 pad1', [2, 3, 5, 6], { outChannels: 5, padding: [1, 1, 1, 1] }),
  conv('conv 3x3 stride2 odd', [1, 3, 7, 9], { outChannels: 6, stride: [2, 2], padding: [1, 1, 1, 1] }),
  conv('conv stride3 leaves columns unread', [1, 2, 8, 8], { outChannels: 3, stride: [3, 3] }),
  conv('conv 3x2 dilation2 no bias', [2, 5, 8, 7], {
    outChannels: 3,
    kernel: [3, 2],
    dilation: [2, 2],
    padding: [2, 1, 2, 1],
    bias: false,
  }),
  conv('conv asymmetric padding', [2, 4, 6, 5], { outChannels: 3, kernel: [4, 4], padding: [1, 1, 2, 2] }),
  conv('conv 1x1', [2, 7, 3, 5], { outChannels: 5, kernel: [1, 1] }),
  conv('conv 1x1 stride2', [1, 6, 5, 5], { outChannels: 3, kernel: [1, 1], stride: [2, 2] }),
  conv('conv grouped', [2, 6, 5, 5], { outChannels: 9, groups: 3, padding: [1, 1, 1, 1] }),
  conv('conv depthwise 3x3', [2, 5, 6, 7], { outChannels: 5, groups: 5, padding: [1, 1, 1, 1] }),
  conv('conv depthwise stride2', [1, 7, 7, 6], { outChannels: 7, groups: 7, stride: [2, 2], padding: [1, 1, 1, 1] }),
  conv('conv depthwise stride2 wide rows', [2, 3, 5, 23], { outChannels: 6, groups: 3, stride: [2, 2], padding: [1, 1, 1, 1] }),
  conv('conv stride2 wide rows', [1, 3, 5, 21], { outChannels: 4, stride: [2, 2], padding: [1, 1, 1, 1] }),
  conv('conv depthwise multiplier2 dilation', [1, 3, 7, 7], {
    outChannels: 6,
    groups: 3,
    dilation: [2, 2],
    padding: [2, 2, 2, 2],
  }),
  conv('conv relu fused', [2, 3, 5, 5], { outChannels: 6, padding: [1, 1, 1, 1], activation: relu }),
  conv('conv relu6 fused', [1, 5, 5, 5], { outChannels: 4, activation: { kind: 'relu6', alpha: 0 } }),
  conv('conv leaky fused', [1, 3, 5, 5], { outChannels: 4, activation: { kind: 'leakyRelu', alpha: 0.1 } }),
  conv('conv sigmoid fused', [1, 3, 5, 4], { outChannels: 3, activation: { kind: 'sigmoid', alpha: 0 } }),
  conv('conv tanh fused', [1, 3, 4, 5], { outChannels: 3, activation: { kind: 'tanh', alpha: 0 } }),
  pool('maxpool 2x2', 'maxPool2d', [2, 3, 6, 6], {}),
  pool('maxpool 3x3 s2 pad1 odd', 'maxPool2d', [1, 5, 7, 9], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }),
  pool('maxpool ceil mode', 'maxPool2d', [2, 3, 5, 7], { kernel: [2, 2], ceilMode: true }),
  pool('maxpool ceil mode s2 k3 pad1', 'maxPool2d', [1, 2, 8, 8], {
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1],
    ceilMode: true,
  }),
  pool('maxpool overlapping s1', 'maxPool2d', [1, 2, 5, 6], { kernel: [3, 3], stride: [1, 1] }),
  pool('maxpool dilation', 'maxPool2d', [1, 3, 7, 7], { kernel: [2, 2], stride: [1, 1], dilation: [2, 2] }),
  pool('avgpool 2x2', 'avgPool2d', [2, 3, 6, 6], {}),
  pool('avgpool pad count', 'avgPool2d', [1, 5, 7, 5], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }),
  pool('avgpool pad exclude', 'avgPool2d', [1, 5, 7, 5], {
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1],
    countIncludePad: false,
  }),
  pool('avgpool ceil exclude', 'avgPool2d', [2, 3, 7, 8], {
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1],
    ceilMode: true,
    countIncludePad: false,
  }),
  pool('avgpool ceil include', 'avgPool2d', [2, 3, 7, 8], { kernel: [2, 2], ceilMode: true }),
  pool('avgpool overlapping s1 pad1', 'avgPool2d', [1, 2, 5, 6], {
    kernel: [3, 3],
    stride: [1, 1],
    padding: [1, 1],
    countIncludePad: false,
  }),
  { name: 'adaptive avg 1x1', op: 'adaptiveAvgPool2d', attrs: { outputSize: [1, 1] }, inputs: [[3, 5, 5, 3]] },
  { name: 'adaptive avg 3x2 overlapping', op: 'adaptiveAvgPool2d', attrs: { outputSize: [3, 2] }, inputs: [[1, 4, 7, 5]] },
  {
    name: 'linear',
    op: 'linear',
    attrs: { inFeatures: 13, outFeatures: 7, bias: true, activation: noActivation },
    inputs: [[5, 13]],
  },
  {
    name: 'linear batch1 no bias',
    op: 'linear',
    attrs: { inFeatures: 9, outFeatures: 10, bias: false, activation: noActivation },
    inputs: [[1, 9]],
  },
  {
    name: 'linear 3d input',
    op: 'linear',
    attrs: { inFeatures: 6, outFeatures: 5, bias: true, activation: noActivation },
    inputs: [[2, 3, 6]],
  },
  {
    name: 'linear relu fused',
    op: 'linear',
    attrs: { inFeatures: 11, outFeatures: 6, bias: true, activation: relu },
    inputs: [[3, 11]],
    piecewise: true,
  },
  ...(['relu', 'relu6', 'leakyRelu', 'sigmoid', 'tanh'] as const).map(
    (kind): GradCase => ({
      name: `activation ${kind}`,
      op: 'activation',
      attrs: { kind, alpha: 0.2 },
      inputs: [[2, 3, 5, 3]],
      piecewise: kind.includes('elu'),
    }),
  ),
  {
    name: 'activation leakyRelu negative slope',
    op: 'activation',
    attrs: { kind: 'leakyRelu', alpha: -0.3 },
    inputs: [[2, 7]],
    piecewise: true,
  },
  {
    name: 'batchnorm train',
    op: 'batchNorm2d',
    attrs: { numFeatures: 5, eps: 1e-5, momentum: 0.1, training: true },
    inputs: [[3, 5, 3, 4]],
  },
  {
    name: 'batchnorm train batch1',
    op: 'batchNorm2d',
    attrs: { numFeatures: 3, eps: 1e-3, momentum: 0.1, training: true },
    inputs: [[1, 3, 4, 3]],
  },
  {
    name: 'batchnorm eval',
    op: 'batchNorm2d',
    attrs: { numFeatures: 7, eps: 1e-5, momentum: 0.1, training: false },
    inputs: [[2, 7, 3, 3]],
  },
  { name: 'dropout eval', op: 'dropout', attrs: { p: 0.5, training: false, seed: 3 }, inputs: [[2, 9]] },
  { name: 'flatten', op: 'flatten', attrs: { startDim: 1, endDim: -1 }, inputs: [[2, 3, 2, 3]] },
  {
    name: 'add',
    op: 'add',
    attrs: {},
    inputs: [
      [2, 5, 3, 3],
      [2, 5, 3, 3],
    ],
  },
  { name: 'softmax dim1', op: 'softmax', attrs: { dim: 1 }, inputs: [[4, 7]] },
  { name: 'softmax dim1 of 4d', op: 'softmax', attrs: { dim: 1 }, inputs: [[2, 5, 3, 2]] },
  { name: 'softmax last dim', op: 'softmax', attrs: { dim: -1 }, inputs: [[3, 2, 9]] },
  {
    name: 'concat channels',
    op: 'concat',
    attrs: { axis: 1 },
    inputs: [
      [2, 3, 2, 3],
      [2, 1, 2, 3],
      [2, 2, 2, 3],
    ],
  },
  { name: 'clip', op: 'unary', attrs: { kind: 'clip', min: -0.5, max: 0.8 }, inputs: [[2, 3, 5]], piecewise: true },
  { name: 'hardSwish', op: 'unary', attrs: { kind: 'hardSwish', min: 0, max: 0 }, inputs: [[3, 4, 5]], piecewise: true },
  // ONNX tensor ops (src/ops/tensor-ops-grad.ts).
  {
    name: 'binary add',
    op: 'binary',
    attrs: { kind: 'add' },
    inputs: [
      [2, 3, 4, 5],
      [2, 3, 4, 5],
    ],
  },
  {
    name: 'binary sub',
    op: 'binary',
    attrs: { kind: 'sub' },
    inputs: [
      [3, 7],
      [3, 7],
    ],
  },
  {
    name: 'binary mul',
    op: 'binary',
    attrs: { kind: 'mul' },
    inputs: [
      [2, 5, 3],
      [2, 5, 3],
    ],
  },
  {
    name: 'binary div',
    op: 'binary',
    attrs: { kind: 'div' },
    inputs: [
      [2, 3, 5],
      [2, 3, 5],
    ],
    awayFromZero: [1],
  },
  { name: 'transpose nchw-nhwc', op: 'transpose', attrs: { perm: [0, 2, 3, 1] }, inputs: [[2, 3, 4, 5]] },
  { name: 'pad asymmetric', op: 'pad', attrs: { pads: [0, 1, 2, 0, 0, 0, 1, 3], value: 0.5 }, inputs: [[1, 2, 3, 4]] },
  ...breadthGradCases,
  ...selectGradCases,
];

/**
 * Backward op cases, as data: every backward node that autodiff emits for the gradient-check cases
 * (same awkward shapes and attributes), run alone on each wasm build against the reference.
 */
/** Every node autodiff emits for one forward case's backward pass (aliases and gradient sums left out), as cases. */
export function backwardNodeCases(c: OpCase): OpCase[] {
  const g = new Graph();
  const ins = c.inputs.map(() => g.addInput());
  g.outputs = [g.addNode(c.op, c.name, c.attrs as never, ins, caseParams(c))];
  const t = buildTrainingGraph(g, c.inputs, { inputGrads: true });
  const shapes = inferShapes(t.graph, [...c.inputs, t.outputShape]);
  return t.graph.nodes
    .slice(t.forwardNodes)
    .filter((node) => !opDef(node.op).alias?.(node.attrs as never) && node.op !== 'add')
    .map((node) => ({
      name: `${c.name} → ${node.op}`,
      op: node.op,
      attrs: node.attrs,
      inputs: node.inputs.map((v) => shapes[v]),
      positive: c.positive,
    }));
}

/** The backward node of `op` that autodiff emits for a forward case, as a case of its own. */
export function backwardCase(c: OpCase, op: OpName): OpCase {
  const found = backwardNodeCases(c).find((n) => n.op === op);
  if (!found) throw new Error(`${c.name}: no ${op} in its backward`);
  return found;
}

export function backwardCases(): OpCase[] {
  const out: OpCase[] = [];
  const seen = new Set<string>();
  for (const c of [...gradCases, ...tiledGradCases]) {
    for (const b of backwardNodeCases(c)) {
      if (seen.has(b.name)) continue;
      seen.add(b.name);
      out.push(b);
    }
  }
  out.push({
    name: 'mul',
    op: 'mul',
    attrs: {},
    inputs: [
      [3, 5, 7],
      [3, 5, 7],
    ],
  });
  out.push({ name: 'dropout mask', op: 'dropoutMask', attrs: { p: 0.3, training: true, seed: 9 }, inputs: [[4, 37]] });
  out.push({ name: 'linear bias grad 3d', op: 'biasGrad', attrs: { channelDim: -1 }, inputs: [[2, 3, 13]] });
  return out;
}

/**
 * Backward-only cases for the tiled GEMMs (webgpu): too large for finite differences (the reference's
 * backward ops are checked on the small cases above), so they only run backend against reference.
 * Rows, columns and K past a 64 tile or under a K-step, K split across workgroups (the weight gradients'
 * batch × pixels), grouped with 4+ channels per group, stride 2 with dilation, 1×1.
 */
export const tiledGradCases: GradCase[] = [
  conv('tiled conv 66 out 3 in', [2, 3, 5, 6], { outChannels: 66, padding: [1, 1, 1, 1] }),
  conv('tiled conv 70 in 5 out stride2', [1, 70, 5, 7], { outChannels: 5, stride: [2, 2], padding: [1, 1, 1, 1] }),
  conv('tiled conv grouped stride2 dilation', [2, 8, 9, 7], {
    outChannels: 12,
    groups: 2,
    stride: [2, 2],
    dilation: [2, 1],
    padding: [2, 1, 1, 0],
  }),
  conv('tiled conv 1x1 batch past a K split', [5, 9, 9, 8], { outChannels: 7, kernel: [1, 1] }),
  conv('tiled conv depthwise long K', [4, 3, 16, 16], { outChannels: 3, groups: 3, padding: [1, 1, 1, 1] }),
  {
    name: 'tiled linear 67 out K 70',
    op: 'linear',
    attrs: { inFeatures: 70, outFeatures: 67, bias: true, activation: noActivation },
    inputs: [[3, 70]],
  },
  {
    name: 'tiled linear rows past a K split',
    op: 'linear',
    attrs: { inFeatures: 6, outFeatures: 5, bias: true, activation: noActivation },
    inputs: [[150, 6]],
  },
];
