import { noActivation } from '../../src/ops/types.js';
import type { OpCase } from '../helpers/single-op.js';
import { convCase, poolCase } from './builders.js';
import { tensorOpCases } from './tensor-ops.js';
import { breadthOpCases } from './onnx-breadth.js';
import { selectOpCases } from './onnx-select.js';

/**
 * Op cases as data, run on every backend against the reference. Shapes are deliberately awkward:
 * odd spatial sizes, channel counts that are not multiples of 4, batch 1 and batch > 1, and the
 * padding/stride/dilation/ceil-mode edges.
 */
const conv = convCase;
const pool = poolCase;

export const opCases: OpCase[] = [
  conv('conv 3x3 pad1', [2, 3, 9, 7], { outChannels: 5, padding: [1, 1, 1, 1] }),
  conv('conv 3x3 stride2 odd', [1, 7, 11, 13], { outChannels: 6, stride: [2, 2], padding: [1, 1, 1, 1] }),
  conv('conv 5x3 dilation2 no bias', [3, 5, 12, 10], {
    outChannels: 9,
    kernel: [5, 3],
    dilation: [2, 2],
    padding: [2, 1, 2, 1],
    bias: false,
  }),
  conv('conv asymmetric same-like padding', [2, 4, 8, 9], { outChannels: 3, kernel: [4, 4], padding: [1, 1, 2, 2] }),
  conv('conv 1x1', [2, 13, 5, 7], { outChannels: 11, kernel: [1, 1] }),
  conv('conv 1x1 stride2', [1, 6, 9, 9], { outChannels: 10, kernel: [1, 1], stride: [2, 2] }),
  conv('conv grouped', [2, 6, 7, 7], { outChannels: 9, groups: 3, padding: [1, 1, 1, 1] }),
  conv('conv depthwise 3x3', [2, 10, 9, 11], { outChannels: 10, groups: 10, padding: [1, 1, 1, 1] }),
  conv('conv depthwise stride2', [1, 7, 12, 13], { outChannels: 7, groups: 7, stride: [2, 2], padding: [1, 1, 1, 1] }),
  conv('conv depthwise multiplier2 dilation', [1, 3, 10, 10], {
    outChannels: 6,
    groups: 3,
    dilation: [2, 2],
    padding: [2, 2, 2, 2],
  }),
  conv('conv relu fused', [2, 3, 9, 9], { outChannels: 17, padding: [1, 1, 1, 1], activation: { kind: 'relu', alpha: 0 } }),
  conv('conv relu6 fused', [1, 5, 6, 6], { outChannels: 8, activation: { kind: 'relu6', alpha: 0 } }),
  conv('conv leaky fused', [1, 5, 6, 6], { outChannels: 4, activation: { kind: 'leakyRelu', alpha: 0.1 } }),
  conv('conv wide output', [1, 3, 33, 31], { outChannels: 64, padding: [1, 1, 1, 1] }),
  pool('maxpool 2x2', 'maxPool2d', [2, 3, 8, 8], {}),
  pool('maxpool 3x3 s2 pad1 odd', 'maxPool2d', [1, 5, 11, 9], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }),
  pool('maxpool ceil mode', 'maxPool2d', [2, 3, 7, 9], { kernel: [2, 2], ceilMode: true }),
  pool('maxpool ceil mode s2 k3', 'maxPool2d', [1, 2, 10, 10], { kernel: [3, 3], stride: [2, 2], ceilMode: true }),
  pool('maxpool dilation', 'maxPool2d', [1, 3, 10, 10], { kernel: [2, 2], stride: [1, 1], dilation: [2, 2] }),
  pool('avgpool 2x2', 'avgPool2d', [2, 3, 8, 8], {}),
  pool('avgpool pad count', 'avgPool2d', [1, 5, 9, 7], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }),
  pool('avgpool pad exclude', 'avgPool2d', [1, 5, 9, 7], {
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
  { name: 'adaptive avg 1x1', op: 'adaptiveAvgPool2d', attrs: { outputSize: [1, 1] }, inputs: [[3, 7, 5, 9]] },
  { name: 'adaptive avg 3x2', op: 'adaptiveAvgPool2d', attrs: { outputSize: [3, 2] }, inputs: [[1, 4, 7, 5]] },
  {
    name: 'linear',
    op: 'linear',
    attrs: { inFeatures: 37, outFeatures: 13, bias: true, activation: noActivation },
    inputs: [[5, 37]],
  },
  {
    name: 'linear batch1 no bias',
    op: 'linear',
    attrs: { inFeatures: 64, outFeatures: 10, bias: false, activation: noActivation },
    inputs: [[1, 64]],
  },
  {
    name: 'linear relu',
    op: 'linear',
    attrs: { inFeatures: 129, outFeatures: 67, bias: true, activation: { kind: 'relu', alpha: 0 } },
    inputs: [[3, 129]],
  },
  ...(['relu', 'relu6', 'leakyRelu', 'sigmoid', 'tanh'] as const).map(
    (kind): OpCase => ({ name: `activation ${kind}`, op: 'activation', attrs: { kind, alpha: 0.2 }, inputs: [[2, 3, 5, 7]] }),
  ),
  {
    name: 'batchnorm eval',
    op: 'batchNorm2d',
    attrs: { numFeatures: 7, eps: 1e-5, momentum: 0.1, training: false },
    inputs: [[2, 7, 5, 3]],
  },
  {
    name: 'add',
    op: 'add',
    attrs: {},
    inputs: [
      [2, 5, 3, 7],
      [2, 5, 3, 7],
    ],
  },
  { name: 'softmax dim1', op: 'softmax', attrs: { dim: 1 }, inputs: [[4, 11]] },
  { name: 'softmax dim1 of 4d', op: 'softmax', attrs: { dim: 1 }, inputs: [[2, 5, 3, 3]] },
  { name: 'softmax last dim', op: 'softmax', attrs: { dim: -1 }, inputs: [[3, 2, 9]] },
  // Pooling edges: widths that run each SIMD path (stride 1, stride 2, the 2x2/2 shuffle path) with
  // tails, strides without a SIMD path, kernels larger than the stride, padding with ceil mode, 1xN
  // and Nx1 windows, tiny inputs, batch 1 and > 1.
  pool('maxpool 2x2 wide', 'maxPool2d', [2, 5, 17, 35], {}),
  pool('maxpool 2x2 s2 pad1', 'maxPool2d', [1, 3, 12, 21], { padding: [1, 1] }),
  pool('maxpool 3x3 s1 pad1 wide', 'maxPool2d', [1, 4, 13, 29], { kernel: [3, 3], stride: [1, 1], padding: [1, 1] }),
  pool('maxpool 3x3 s2 wide', 'maxPool2d', [2, 3, 15, 33], { kernel: [3, 3], stride: [2, 2] }),
  pool('maxpool 3x3 s3 ceil', 'maxPool2d', [1, 3, 14, 31], { kernel: [3, 3], ceilMode: true }),
  pool('maxpool k4 s2 pad2 ceil', 'maxPool2d', [1, 2, 19, 23], {
    kernel: [4, 4],
    stride: [2, 2],
    padding: [2, 2],
    ceilMode: true,
  }),
  pool('maxpool k3 s2 pad1 ceil', 'maxPool2d', [2, 3, 8, 10], {
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1],
    ceilMode: true,
  }),
  pool('maxpool k3 s2 dilation2 pad1 wide', 'maxPool2d', [1, 3, 16, 27], {
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1],
    dilation: [2, 2],
  }),
  pool('maxpool k3 s1 dilation3 wide', 'maxPool2d', [2, 2, 11, 30], { kernel: [3, 3], stride: [1, 1], dilation: [3, 3] }),
  pool('maxpool 1x3 s1x2', 'maxPool2d', [2, 3, 7, 26], { kernel: [1, 3], stride: [1, 2], padding: [0, 1] }),
  pool('maxpool 3x1 s2x1', 'maxPool2d', [1, 3, 11, 17], { kernel: [3, 1], stride: [2, 1], padding: [1, 0] }),
  pool('maxpool 1x1 input', 'maxPool2d', [1, 1, 1, 1], { kernel: [1, 1] }),
  pool('maxpool 2x2 of 2x2', 'maxPool2d', [3, 1, 2, 2], {}),
  pool('maxpool tiny k3 pad1 ceil', 'maxPool2d', [1, 2, 3, 3], {
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1],
    ceilMode: true,
  }),
  pool('maxpool 2x2 s1 batch1 wide', 'maxPool2d', [1, 1, 5, 41], { kernel: [2, 2], stride: [1, 1] }),
  pool('avgpool 2x2 wide', 'avgPool2d', [2, 5, 17, 35], {}),
  pool('avgpool 3x3 s1 pad1 wide exclude', 'avgPool2d', [1, 4, 13, 29], {
    kernel: [3, 3],
    stride: [1, 1],
    padding: [1, 1],
    countIncludePad: false,
  }),
  pool('avgpool 3x3 s1 pad1 wide include', 'avgPool2d', [1, 4, 13, 29], { kernel: [3, 3], stride: [1, 1], padding: [1, 1] }),
  pool('avgpool 3x3 s2 pad1 wide include', 'avgPool2d', [2, 3, 15, 33], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }),
  pool('avgpool k4 s2 pad2 ceil exclude', 'avgPool2d', [1, 2, 19, 23], {
    kernel: [4, 4],
    stride: [2, 2],
    padding: [2, 2],
    ceilMode: true,
    countIncludePad: false,
  }),
  pool('avgpool k4 s2 pad2 ceil include', 'avgPool2d', [1, 2, 19, 23], {
    kernel: [4, 4],
    stride: [2, 2],
    padding: [2, 2],
    ceilMode: true,
  }),
  pool('avgpool k3 s3 ceil include', 'avgPool2d', [1, 3, 10, 17], { kernel: [3, 3], ceilMode: true }),
  pool('avgpool 1x3 s1x2 pad', 'avgPool2d', [2, 3, 7, 26], {
    kernel: [1, 3],
    stride: [1, 2],
    padding: [0, 1],
    countIncludePad: false,
  }),
  pool('avgpool 3x1 s2x1 pad', 'avgPool2d', [1, 3, 11, 17], { kernel: [3, 1], stride: [2, 1], padding: [1, 0] }),
  pool('avgpool 1x1 input', 'avgPool2d', [1, 1, 1, 1], { kernel: [1, 1] }),
  pool('avgpool tiny k3 pad1 ceil exclude', 'avgPool2d', [2, 2, 3, 3], {
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1],
    ceilMode: true,
    countIncludePad: false,
  }),
  { name: 'adaptive avg 1x1 large planes', op: 'adaptiveAvgPool2d', attrs: { outputSize: [1, 1] }, inputs: [[2, 13, 17, 19]] },
  { name: 'adaptive avg 1x1 of 1x1', op: 'adaptiveAvgPool2d', attrs: { outputSize: [1, 1] }, inputs: [[1, 3, 1, 1]] },
  { name: 'adaptive avg 5x5 of 7x11', op: 'adaptiveAvgPool2d', attrs: { outputSize: [5, 5] }, inputs: [[2, 3, 7, 11]] },
  { name: 'adaptive avg larger than input', op: 'adaptiveAvgPool2d', attrs: { outputSize: [5, 4] }, inputs: [[1, 2, 3, 3]] },
  // Element-wise edges: lengths with SIMD tails, training-mode batch norm and dropout, softmax over
  // every kind of axis (inner = 1, inner a multiple of 4, inner with a tail).
  ...(['relu', 'relu6', 'leakyRelu', 'sigmoid', 'tanh'] as const).map(
    (kind): OpCase => ({
      name: `activation ${kind} odd length`,
      op: 'activation',
      attrs: { kind, alpha: 0.05 },
      inputs: [[3, 1001]],
    }),
  ),
  {
    name: 'add odd length',
    op: 'add',
    attrs: {},
    inputs: [
      [1, 3, 7, 5],
      [1, 3, 7, 5],
    ],
  },
  {
    name: 'batchnorm eval batch1 wide',
    op: 'batchNorm2d',
    attrs: { numFeatures: 13, eps: 1e-5, momentum: 0.1, training: false },
    inputs: [[1, 13, 10, 10]],
  },
  {
    name: 'batchnorm training',
    op: 'batchNorm2d',
    attrs: { numFeatures: 7, eps: 1e-5, momentum: 0.1, training: true },
    inputs: [[4, 7, 5, 3]],
  },
  {
    name: 'batchnorm training batch1',
    op: 'batchNorm2d',
    attrs: { numFeatures: 6, eps: 1e-3, momentum: 0.3, training: true },
    inputs: [[1, 6, 9, 11]],
  },
  {
    name: 'batchnorm training 1x1 spatial',
    op: 'batchNorm2d',
    attrs: { numFeatures: 5, eps: 1e-5, momentum: 0.1, training: true },
    inputs: [[8, 5, 1, 1]],
  },
  { name: 'dropout training p0.3', op: 'dropout', attrs: { p: 0.3, training: true, seed: 17 }, inputs: [[2, 3, 5, 7]] },
  { name: 'dropout training p0.5 long', op: 'dropout', attrs: { p: 0.5, training: true, seed: 4 }, inputs: [[1, 1003]] },
  { name: 'dropout eval (alias)', op: 'dropout', attrs: { p: 0.5, training: false, seed: 4 }, inputs: [[2, 9]] },
  { name: 'softmax dim0', op: 'softmax', attrs: { dim: 0 }, inputs: [[5, 6]] },
  { name: 'softmax dim2 of 4d', op: 'softmax', attrs: { dim: 2 }, inputs: [[2, 3, 9, 5]] },
  { name: 'softmax dim1 inner 4', op: 'softmax', attrs: { dim: 1 }, inputs: [[3, 7, 4]] },
  { name: 'softmax long row', op: 'softmax', attrs: { dim: -1 }, inputs: [[2, 1000]] },
  { name: 'softmax batch1', op: 'softmax', attrs: { dim: 1 }, inputs: [[1, 10]] },
  { name: 'softmax size1', op: 'softmax', attrs: { dim: 1 }, inputs: [[3, 1, 5]] },
  // GEMM-path edges (wasm conv/linear): K past a K block (256) with widths that are not multiples of the
  // 8-column panel, stride 3, 1x1 with padding or groups, sigmoid/tanh epilogues; depthwise with strides 1
  // and 2 over rows wide enough for the SIMD interior, multiplier 2 with stride 2, no bias.
  conv('conv K past block odd width', [2, 31, 7, 11], { outChannels: 13, padding: [1, 1, 1, 1] }),
  conv('conv stride3 sigmoid', [1, 4, 13, 14], { outChannels: 7, stride: [3, 3], activation: { kind: 'sigmoid', alpha: 0 } }),
  conv('conv tanh fused no bias', [2, 6, 7, 6], { outChannels: 5, bias: false, activation: { kind: 'tanh', alpha: 0 } }),
  conv('conv 1x1 padded', [1, 5, 6, 7], { outChannels: 6, kernel: [1, 1], padding: [1, 0, 2, 1] }),
  conv('conv 1x1 grouped', [2, 8, 5, 5], { outChannels: 12, kernel: [1, 1], groups: 4, activation: { kind: 'relu', alpha: 0 } }),
  conv('conv 1x1 wide relu6', [2, 16, 9, 16], { outChannels: 20, kernel: [1, 1], activation: { kind: 'relu6', alpha: 0 } }),
  conv('conv stride2 wide rows', [1, 3, 9, 37], { outChannels: 8, stride: [2, 2], padding: [1, 2, 1, 2], kernel: [3, 5] }),
  conv('conv depthwise wide relu', [2, 5, 7, 29], {
    outChannels: 5,
    groups: 5,
    padding: [1, 1, 1, 1],
    activation: { kind: 'relu', alpha: 0 },
  }),
  conv('conv depthwise stride2 wide no bias', [1, 4, 9, 40], {
    outChannels: 4,
    groups: 4,
    stride: [2, 2],
    padding: [0, 1, 1, 1],
    bias: false,
  }),
  conv('conv depthwise multiplier2 stride2 5x5', [1, 3, 11, 23], {
    outChannels: 6,
    groups: 3,
    kernel: [5, 5],
    stride: [2, 2],
    padding: [2, 2, 2, 2],
    activation: { kind: 'leakyRelu', alpha: 0.2 },
  }),
  // Depthwise kernels other than 3×3 (the SIMD build's padded-plane kernel, four output vectors at a time
  // taken row-major across the plane): ConvNeXt's 7×7, planes narrower than a vector group, stride 2 across
  // with dilation and asymmetric padding, a stride down of 3, 1×1 and 2×2; stride 3 across takes the loop path.
  conv('conv depthwise 7x7 pad3 odd', [2, 5, 9, 13], { outChannels: 5, groups: 5, kernel: [7, 7], padding: [3, 3, 3, 3] }),
  conv('conv depthwise 7x7 narrow planes relu6 no bias', [3, 3, 7, 5], {
    outChannels: 3,
    groups: 3,
    kernel: [7, 7],
    padding: [3, 3, 3, 3],
    bias: false,
    activation: { kind: 'relu6', alpha: 0 },
  }),
  conv('conv depthwise 5x3 s2 dilated asym multiplier2', [1, 4, 14, 19], {
    outChannels: 8,
    groups: 4,
    kernel: [5, 3],
    stride: [2, 2],
    dilation: [2, 1],
    padding: [4, 1, 3, 2],
    activation: { kind: 'sigmoid', alpha: 0 },
  }),
  conv('conv depthwise 7x7 stride down 3', [1, 3, 16, 6], {
    outChannels: 3,
    groups: 3,
    kernel: [7, 7],
    stride: [3, 1],
    padding: [3, 3, 3, 3],
  }),
  conv('conv depthwise 1x1', [2, 6, 5, 7], { outChannels: 6, groups: 6, kernel: [1, 1] }),
  conv('conv depthwise 2x2 s2 tanh', [1, 5, 9, 11], {
    outChannels: 5,
    groups: 5,
    kernel: [2, 2],
    stride: [2, 2],
    activation: { kind: 'tanh', alpha: 0 },
  }),
  conv('conv depthwise 3x3 stride3 across', [1, 3, 10, 17], { outChannels: 3, groups: 3, stride: [3, 3], padding: [1, 1, 1, 1] }),
  // Stride-1 convolutions whose output width is a multiple of 8 (the row-aligned im2col path).
  conv('conv s1 width 16 pad1', [2, 5, 10, 16], { outChannels: 7, padding: [1, 1, 1, 1] }),
  conv('conv s1 width 8 relu', [3, 6, 8, 8], { outChannels: 12, padding: [1, 1, 1, 1], activation: { kind: 'relu', alpha: 0 } }),
  conv('conv s1 row-aligned dilated asym', [1, 3, 9, 14], { outChannels: 5, dilation: [1, 2], padding: [1, 4, 0, 2] }),
  conv('conv s1 width 8 unpadded 1x3', [1, 4, 5, 10], { outChannels: 6, kernel: [1, 3] }),
  // Stride 2 with an output width that is a multiple of 8 (the row-aligned im2col's shuffle path).
  conv('conv s2 width 8', [2, 5, 15, 16], { outChannels: 9, stride: [2, 2], padding: [1, 1, 1, 1] }),
  conv('conv s2 width 16 dilated asym', [1, 4, 12, 33], {
    outChannels: 6,
    stride: [2, 2],
    dilation: [1, 2],
    padding: [1, 0, 1, 3],
  }),
  conv('conv s2x1 width 8 5x5', [1, 3, 13, 12], { outChannels: 5, kernel: [5, 5], stride: [2, 1], padding: [2, 0, 2, 0] }),
  // Cout·Cin·kh·kw past 192K: the GEMM blocks K (C reloaded between blocks, epilogue on the last).
  conv('conv K blocked relu', [1, 43, 3, 4], { outChannels: 512, padding: [1, 1, 1, 1], activation: { kind: 'relu', alpha: 0 } }),
  // Tiled-GEMM edges (webgpu: 64×64 tiles with a K-step of 16, an 8×128 tile for ≤ 8 rows, K split across
  // workgroups when the output has few tiles and K ≥ 64): rows and columns one past or short of a tile,
  // K below one K-step and not a multiple of it, several K slices, 1×1 as a plain GEMM, grouped with
  // 4+ rows per group (the tiled rule), stride 2 with dilation and asymmetric padding.
  conv('tiled conv 70 rows K 9 under a K-step', [2, 1, 9, 10], { outChannels: 70, padding: [1, 1, 1, 1] }),
  conv('tiled conv 65 rows split K', [1, 40, 5, 6], { outChannels: 65, activation: { kind: 'relu', alpha: 0 } }),
  conv('tiled conv thin rows split K', [1, 37, 4, 5], { outChannels: 6, padding: [1, 0, 1, 2] }),
  conv('tiled conv 1x1 67 rows K 20', [2, 20, 7, 9], { outChannels: 67, kernel: [1, 1] }),
  conv('tiled conv grouped stride2 dilation', [2, 10, 11, 9], {
    outChannels: 10,
    groups: 2,
    stride: [2, 2],
    dilation: [2, 2],
    padding: [2, 1, 2, 1],
    activation: { kind: 'leakyRelu', alpha: 0.1 },
  }),
  conv('tiled conv columns past 2 tiles', [3, 4, 7, 7], { outChannels: 5, kernel: [2, 2], stride: [1, 1], bias: false }),
  {
    name: 'tiled linear 70 rows 65 columns K 37',
    op: 'linear',
    attrs: { inFeatures: 37, outFeatures: 65, bias: true, activation: { kind: 'relu6', alpha: 0 } },
    inputs: [[70, 37]],
  },
  {
    name: 'tiled linear batch1 split K 1000',
    op: 'linear',
    attrs: { inFeatures: 1000, outFeatures: 131, bias: true, activation: noActivation },
    inputs: [[1, 1000]],
  },
  {
    name: 'tiled linear K 5',
    op: 'linear',
    attrs: { inFeatures: 5, outFeatures: 9, bias: false, activation: noActivation },
    inputs: [[12, 5]],
  },
  {
    name: 'linear K past block rows 9 sigmoid',
    op: 'linear',
    attrs: { inFeatures: 300, outFeatures: 21, bias: true, activation: { kind: 'sigmoid', alpha: 0 } },
    inputs: [[9, 300]],
  },
  {
    name: 'linear batch1 wide tanh',
    op: 'linear',
    attrs: { inFeatures: 517, outFeatures: 40, bias: true, activation: { kind: 'tanh', alpha: 0 } },
    inputs: [[1, 517]],
  },
  {
    name: 'linear 3d input leaky',
    op: 'linear',
    attrs: { inFeatures: 12, outFeatures: 8, bias: true, activation: { kind: 'leakyRelu', alpha: 0.1 } },
    inputs: [[2, 3, 12]],
  },
  ...tensorOpCases,
  ...breadthOpCases,
  ...selectOpCases,
];
