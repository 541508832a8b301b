// The ONNX and breadth kernels on WebGPU keep shapes out of their WGSL as the CNN kernels do
// (tests/webgpu-uniforms.test.ts): only the op's kind and the rank of its index walk are compiled in, while
// extents, strides, pads, slice starts and steps, axis sizes and float constants (alpha, beta, clip bounds,
// the pad value, expand's scale, eps, dropout's scale) are uniforms. Each family below runs one kernel kind
// on shapes of different extents (odd sizes; inputs of different ranks whose walks collapse to the same
// one) and checks that only the first compiles anything and that every shape equals the reference
// backend. The controls check that the rank and the kind still get pipelines of their own.
import { beforeAll, describe, expect, it } from 'vitest';
import { getBackend } from '../src/index.js';
import type { Backend } from '../src/backends/backend.js';
import type { WebGpuBackend } from '../src/backends/webgpu/index.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';
import type { BinaryKind, UnaryAttrs, UnaryKind } from '../src/ops/types.js';
import { backwardCase, backwardNodeCases } from './cases/grad.js';
import { type PipelineFamily, itCompilesOncePerFamily, pipelinesCompiledBy } from './helpers/pipelines.js';
import type { OpCase } from './helpers/single-op.js';
import { webgpuUnderTest } from './helpers/webgpu.js';

const INF = Number.POSITIVE_INFINITY;

const binary = (kind: BinaryKind, a: number[], b: number[]): OpCase<'binary'> => ({
  name: `binary ${kind} [${a}] by [${b}]`,
  op: 'binary',
  attrs: { kind },
  inputs: [a, b],
});

const unary = (kind: UnaryKind, shape: number[], extra: Partial<UnaryAttrs>): OpCase<'unary'> => ({
  name: `unary ${kind} ${JSON.stringify(extra)} [${shape}]`,
  op: 'unary',
  attrs: { kind, min: 0, max: 0, ...extra },
  inputs: [shape],
});

const transpose = (x: number[], perm: number[]): OpCase<'transpose'> => ({
  name: `transpose [${x}] by [${perm}]`,
  op: 'transpose',
  attrs: { perm },
  inputs: [x],
});

const slice = (x: number[], starts: number[], steps: number[], sizes: number[]): OpCase<'slice'> => ({
  name: `slice [${x}] from [${starts}] step [${steps}] size [${sizes}]`,
  op: 'slice',
  attrs: { starts, steps, sizes },
  inputs: [x],
});

const reduce = (kind: 'sum' | 'max', x: number[], axes: number[]): OpCase<'reduce'> => ({
  name: `reduce ${kind} [${x}] axes [${axes}]`,
  op: 'reduce',
  attrs: { kind, axes, keepdims: true },
  inputs: [x],
});

const gather = (x: number[], axis: number, indices: number[]): OpCase<'gather'> => ({
  name: `gather axis ${axis} of [${x}] at [${indices}]`,
  op: 'gather',
  attrs: { axis, indices, indicesShape: [indices.length] },
  inputs: [x],
});

const where = (c: number[], x: number[], y: number[]): OpCase<'where'> => ({
  name: `where [${c}] [${x}] [${y}]`,
  op: 'where',
  attrs: {},
  inputs: [c, x, y],
  mask: [0],
});

const layerNorm = (x: number[], normalizedShape: number[], eps: number): OpCase<'layerNorm'> => ({
  name: `layer norm [${x}] over [${normalizedShape}] eps ${eps}`,
  op: 'layerNorm',
  attrs: { normalizedShape, eps, affine: true },
  inputs: [x],
});

/** Both whereGrad nodes of a where case: operand 1 (x) and 2 (y), which differ only in a uniform. */
const whereGrads = (c: OpCase) => backwardNodeCases(c).filter((n) => n.op === 'whereGrad');

// Per family: the shapes' walks collapse to one rank (worked out beside each), so they must share the pipeline.
const families: PipelineFamily[] = [
  {
    // Rank 3 after collapsing: [2, 9, 12] (the trailing 4×3 merges), [3, 5, 11], [4, 5, 42] (6×7 merges).
    name: 'broadcasting binary add',
    cases: [
      binary('add', [2, 9, 4, 3], [2, 1, 4, 3]),
      binary('add', [3, 5, 11], [3, 1, 11]),
      binary('add', [4, 1, 6, 7], [4, 5, 1, 1]),
    ],
  },
  {
    // Rank 3: [3, 7, 5]; [6, 4, 5]; NCHW → NHWC as [2, 35, 3] (H and W merge).
    name: 'transpose',
    cases: [transpose([3, 5, 7], [0, 2, 1]), transpose([4, 6, 5], [1, 0, 2]), transpose([2, 3, 5, 7], [0, 2, 3, 1])],
  },
  {
    name: 'constant pad (begin and end crops, pad values)',
    cases: [
      { name: 'pad [5, 7] crop both ends', op: 'pad', attrs: { pads: [-1, 2, -2, 1], value: -3 }, inputs: [[5, 7]] },
      { name: 'pad [4, 9]', op: 'pad', attrs: { pads: [1, 0, 2, 3], value: 0.5 }, inputs: [[4, 9]] },
      { name: 'pad [6, 3] begin crop', op: 'pad', attrs: { pads: [0, -2, 3, 1], value: 7 }, inputs: [[6, 3]] },
    ],
  },
  {
    // Rank 3, no merges: the strides do not chain. Negative steps (wrapping u32 strides) in both.
    name: 'strided slice',
    cases: [slice([3, 9, 7], [1, 8, 0], [1, -2, 3], [2, 4, 3]), slice([4, 6, 5], [0, 5, 1], [2, -1, 2], [2, 5, 2])],
  },
  {
    // Kept walk of rank 2 ([3, 5]; [14, 4]), reduced walk of rank 1 (6; 3).
    name: 'reduce sum over one axis',
    cases: [reduce('sum', [3, 6, 5], [1]), reduce('sum', [2, 7, 3, 4], [2])],
  },
  {
    name: 'unary elu, alpha a uniform',
    cases: [unary('elu', [2, 5, 7], { alpha: 0.3 }), unary('elu', [37], { alpha: 1.7 })],
  },
  {
    name: 'unary clip, bounds uniforms (infinite ones included)',
    cases: [
      unary('clip', [3, 5, 7], { min: -0.5, max: 1.5 }),
      unary('clip', [37], { min: 0.25, max: INF }),
      unary('clip', [2, 11], { min: -INF, max: -0.3 }),
      unary('clip', [9], { min: -INF, max: INF }),
    ],
  },
  {
    name: 'concat of two inputs',
    cases: [
      {
        name: 'concat channels',
        op: 'concat',
        attrs: { axis: 1 },
        inputs: [
          [2, 3, 4, 5],
          [2, 5, 4, 5],
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
    ],
  },
  {
    // Batch walks of rank 2: [2, 3] and [4, 2] (B broadcast along the first).
    name: 'batched matmul',
    cases: [
      {
        name: 'matmul [2,3,4,6]×[3,6,5]',
        op: 'matmul',
        attrs: {},
        inputs: [
          [2, 3, 4, 6],
          [3, 6, 5],
        ],
      },
      {
        name: 'matmul [4,2,3,5]×[2,5,7]',
        op: 'matmul',
        attrs: {},
        inputs: [
          [4, 2, 3, 5],
          [2, 5, 7],
        ],
      },
    ],
  },
  {
    name: 'gather',
    cases: [gather([5, 7, 3], 0, [4, 0, 4]), gather([2, 6, 5], 1, [5, 1, 0, 2, 5]), gather([3, 4], 1, [3])],
  },
  {
    // Rank 3: neither walk merges.
    name: 'where, three broadcast operands',
    cases: [where([3, 1], [2, 3, 7], [7]), where([2, 1, 4], [3, 1], [1])],
  },
  {
    name: 'expand, scale a uniform',
    cases: [
      { name: 'expand [3, 1] to [3, 9] × 0.25', op: 'expand', attrs: { shape: [3, 9], scale: 0.25 }, inputs: [[3, 1]] },
      { name: 'expand [4, 1] to [4, 6]', op: 'expand', attrs: { shape: [4, 6], scale: 1 }, inputs: [[4, 1]] },
    ],
  },
  {
    name: 'layer norm, eps a uniform',
    cases: [layerNorm([2, 3, 5, 13], [13], 1e-6), layerNorm([3, 4, 6], [4, 6], 1e-5)],
  },
  {
    name: 'leakyRelu activation, slope a uniform',
    cases: [
      { name: 'leaky 0.1', op: 'activation', attrs: { kind: 'leakyRelu', alpha: 0.1 }, inputs: [[2, 9]] },
      { name: 'leaky 0.3', op: 'activation', attrs: { kind: 'leakyRelu', alpha: 0.3 }, inputs: [[37]] },
    ],
  },
  {
    name: 'training dropout, 1/(1 − p) a uniform',
    cases: [
      { name: 'dropout p0.3', op: 'dropout', attrs: { p: 0.3, training: true, seed: 17 }, inputs: [[2, 3, 5, 7]] },
      { name: 'dropout p0.5', op: 'dropout', attrs: { p: 0.5, training: true, seed: 4 }, inputs: [[1, 53]] },
    ],
  },
  {
    name: 'unaryGrad of clip',
    cases: [
      backwardCase(unary('clip', [2, 3, 5], { min: -0.5, max: 0.8 }), 'unaryGrad'),
      backwardCase(unary('clip', [17], { min: -INF, max: 0.25 }), 'unaryGrad'),
    ],
  },
  {
    name: 'binaryGrad of max',
    cases: [
      backwardCase(binary('max', [2, 3, 5], [3, 1]), 'binaryGrad'),
      backwardCase(binary('max', [4, 7, 3], [7, 1]), 'binaryGrad'),
    ],
  },
  {
    // The condition's walk: one flat dimension in both (it has the output's shape).
    name: 'whereGrad, both operands',
    cases: [...whereGrads(where([2, 3, 5], [2, 3, 5], [3, 1])), ...whereGrads(where([3, 4], [3, 1], [4]))],
  },
  {
    name: 'gatherGrad',
    cases: [
      backwardCase(gather([5, 4, 3], 0, [4, 0, 4]), 'gatherGrad'),
      backwardCase(gather([2, 6, 5], 1, [5, 1, 1, 2]), 'gatherGrad'),
    ],
  },
  {
    // Kept walk rank 2, reduced walk rank 1, spread walk rank 3, in both.
    name: 'reduceMaxGrad',
    cases: [
      backwardCase(reduce('max', [3, 6, 5], [1]), 'reduceMaxGrad'),
      backwardCase(reduce('max', [2, 7, 3], [1]), 'reduceMaxGrad'),
    ],
  },
  {
    name: 'layer norm input gradient',
    cases: [
      backwardCase(layerNorm([2, 3, 5, 13], [13], 1e-6), 'layerNormGradInput'),
      backwardCase(layerNorm([3, 4, 6], [4, 6], 1e-5), 'layerNormGradInput'),
    ],
  },
  {
    name: 'layer norm weight gradient',
    cases: [
      backwardCase(layerNorm([2, 3, 5, 13], [13], 1e-6), 'layerNormGradWeight'),
      backwardCase(layerNorm([3, 4, 6], [4, 6], 1e-5), 'layerNormGradWeight'),
    ],
  },
];

describe.runIf(webgpuUnderTest)('webgpu ONNX and breadth kernels take shapes as uniforms', () => {
  let gpu: WebGpuBackend;
  let reference: Backend;
  beforeAll(async () => {
    gpu = (await getBackend('webgpu')) as WebGpuBackend;
    reference = createReferenceBackend();
  });
  const compiles = (c: OpCase) => pipelinesCompiledBy(gpu, reference, c);

  itCompilesOncePerFamily(families, compiles);

  it('what is compiled in still gets its own pipeline: the walk rank, the op kind', async () => {
    await compiles(binary('mul', [2, 9, 4, 3], [2, 1, 4, 3]));
    // Same shapes as one flat walk (rank 1), and a rank-2 walk: new pipelines.
    expect(await compiles(binary('mul', [2, 9, 4], [2, 9, 4]))).toBeGreaterThan(0);
    expect(await compiles(binary('mul', [5, 3], [5, 1]))).toBeGreaterThan(0);
    // Same shape as the first, another kind.
    expect(await compiles(binary('sub', [2, 9, 4, 3], [2, 1, 4, 3]))).toBeGreaterThan(0);
  });
});
