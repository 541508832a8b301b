// WebGPU kernels keep shapes out of their WGSL source: sizes, strides, paddings and dilations travel as
// uniforms, and pipelines are cached by source, so kernels that differ only in shape share one pipeline.
// Each family below runs several shapes of one kernel kind (same tile, activation, 1×1 path, split-K
// choice and four-wide tile loads or not — see tests/webgpu-vec4.test.ts) and checks that only the first compiles anything, and that every shape still equals the
// reference backend — a uniform filled wrongly would show as a wrong result, not only as a count. The
// controls check that what *is* compiled in (activation, tile) still gets a pipeline of its own.
import { beforeAll, describe, expect, it } from 'vitest';
import { getBackend } from '../src/index.js';
import type { Backend } from '../src/backends/backend.js';
import type { WebGpuBackend } from '../src/backends/webgpu/index.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';
import type { Conv2dAttrs } from '../src/ops/types.js';
import { noActivation } from '../src/ops/types.js';
import { backwardCase } from './cases/grad.js';
import { convCase, poolCase } from './cases/builders.js';
import { type PipelineFamily, itCompilesOncePerFamily, pipelinesCompiledBy } from './helpers/pipelines.js';
import { expectClose } from './helpers/random.js';
import type { OpCase } from './helpers/single-op.js';
import { webgpuUnderTest } from './helpers/webgpu.js';

const relu = { kind: 'relu', alpha: 0 } as const;

const conv = (name: string, x: number[], o: Partial<Conv2dAttrs> & { outChannels: number }) => convCase(name, x, o);

// Tiled forward, 64×64 tile (more than 8 rows per group), K under a split and not a multiple of 4 (scalar
// tile loads), ReLU. Channels not multiples of 4, odd sizes, strides, dilations, asymmetric padding, groups.
const tiledRelu = [
  conv('5→12 3x3 pad1', [2, 5, 9, 7], { outChannels: 12, padding: [1, 1, 1, 1], activation: relu }),
  conv('7→10 3x2 stride 2×1 dilation 1×2 asymmetric pad', [1, 7, 6, 11], {
    outChannels: 10,
    kernel: [3, 2],
    stride: [2, 1],
    dilation: [1, 2],
    padding: [0, 1, 2, 1],
    activation: relu,
  }),
  conv('10→22 groups 2 3x2 stride 2', [2, 10, 7, 5], {
    outChannels: 22,
    groups: 2,
    kernel: [3, 2],
    stride: [2, 2],
    padding: [1, 0, 0, 1],
    activation: relu,
  }),
  conv('3→9 stride 3 dilation 2 pad 2 no bias', [3, 3, 5, 4], {
    outChannels: 9,
    stride: [3, 3],
    dilation: [2, 2],
    padding: [2, 2, 2, 2],
    bias: false,
    activation: relu,
  }),
];

const families: PipelineFamily[] = [
  { name: 'tiled conv2d, 64×64 tile, ReLU', cases: tiledRelu },
  {
    name: 'tiled conv2d with K split across workgroups',
    cases: [
      conv('41→65 split K', [1, 41, 5, 6], { outChannels: 65 }),
      conv('37→13 pad split K', [1, 37, 4, 5], { outChannels: 13, padding: [1, 0, 1, 2] }),
    ],
  },
  {
    name: 'tiled 1×1 conv2d',
    cases: [
      conv('20→67 1x1', [2, 20, 7, 9], { outChannels: 67, kernel: [1, 1] }),
      conv('12→10 1x1', [1, 12, 5, 3], { outChannels: 10, kernel: [1, 1] }),
    ],
  },
  {
    name: 'direct (depthwise) conv2d',
    cases: [
      conv('depthwise 5 pad 1', [2, 5, 6, 7], { outChannels: 5, groups: 5, padding: [1, 1, 1, 1] }),
      conv('depthwise 7 stride 2', [1, 7, 7, 6], { outChannels: 7, groups: 7, stride: [2, 2], padding: [1, 1, 1, 1] }),
      conv('multiplier 2 dilation 2 no bias', [1, 3, 7, 7], {
        outChannels: 6,
        groups: 3,
        dilation: [2, 2],
        padding: [2, 2, 2, 2],
        bias: false,
      }),
    ],
  },
  {
    name: 'tiled conv2dGradInput',
    cases: [
      backwardCase(conv('5→12 pad1', [2, 5, 9, 7], { outChannels: 12, padding: [1, 1, 1, 1] }), 'conv2dGradInput'),
      backwardCase(tiledRelu[1], 'conv2dGradInput'),
      backwardCase(tiledRelu[2], 'conv2dGradInput'),
    ],
  },
  {
    name: 'tiled conv2dGradWeight, K split',
    cases: [
      backwardCase(conv('5→12 pad1', [2, 5, 9, 7], { outChannels: 12, padding: [1, 1, 1, 1] }), 'conv2dGradWeight'),
      backwardCase(
        conv('6→9 stride 2', [3, 6, 11, 9], { outChannels: 9, stride: [2, 2], padding: [1, 1, 1, 1] }),
        'conv2dGradWeight',
      ),
    ],
  },
  {
    name: 'tiled linear, 8×128 tile, ReLU',
    cases: [
      {
        name: 'linear 70→67 batch 3',
        op: 'linear',
        attrs: { inFeatures: 70, outFeatures: 67, bias: true, activation: relu },
        inputs: [[3, 70]],
      },
      {
        name: 'linear 13→5 batch 7 no bias',
        op: 'linear',
        attrs: { inFeatures: 13, outFeatures: 5, bias: false, activation: relu },
        inputs: [[7, 13]],
      },
    ],
  },
  {
    name: 'max pooling',
    cases: [
      poolCase('max 3x3 s2 pad1', 'maxPool2d', [2, 3, 7, 9], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }),
      poolCase('max 2x3 dilation 2', 'maxPool2d', [1, 5, 8, 9], { kernel: [2, 3], stride: [1, 2], dilation: [2, 2] }),
    ],
  },
  {
    name: 'average pooling, padding counted',
    cases: [
      poolCase('avg 3x3 s2 pad1', 'avgPool2d', [2, 3, 7, 9], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }),
      poolCase('avg 2x2', 'avgPool2d', [1, 5, 6, 7], { kernel: [2, 2] }),
    ],
  },
  {
    name: 'softmax',
    cases: [
      { name: 'softmax dim 1 of 3d', op: 'softmax', attrs: { dim: 1 }, inputs: [[2, 5, 3]] },
      { name: 'softmax last dim', op: 'softmax', attrs: { dim: -1 }, inputs: [[4, 7]] },
    ],
  },
  {
    name: 'batch norm, training',
    cases: [
      {
        name: 'batchnorm 3 channels',
        op: 'batchNorm2d',
        attrs: { numFeatures: 3, eps: 1e-5, momentum: 0.1, training: true },
        inputs: [[2, 3, 4, 5]],
      },
      {
        name: 'batchnorm 5 channels',
        op: 'batchNorm2d',
        attrs: { numFeatures: 5, eps: 1e-3, momentum: 0.2, training: true },
        inputs: [[3, 5, 2, 3]],
      },
    ],
  },
];

describe.runIf(webgpuUnderTest)('webgpu kernels take shapes as uniforms: one pipeline per kernel kind', () => {
  let gpu: WebGpuBackend;
  let reference: Backend;
  beforeAll(async () => {
    gpu = (await getBackend('webgpu')) as WebGpuBackend;
    reference = createReferenceBackend();
  });

  const compiles = (c: OpCase) => pipelinesCompiledBy(gpu, reference, c);

  itCompilesOncePerFamily(families, compiles);

  it('SGD updates of parameters of any size share one pipeline, and each stops at its own size', async () => {
    const mem = gpu.memory;
    const before = gpu.pipelinesCompiled;
    for (const n of [3, 17, 70, 5]) {
      // Three guard values past the parameter: a thread bound that ignored n would update them too.
      const p0 = new Float32Array(n + 3).map((_, i) => 0.5 + i * 0.25);
      const g0 = new Float32Array(n + 3).map((_, i) => 1 - i * 0.125);
      const p = mem.alloc(4 * (n + 3));
      const g = mem.alloc(4 * (n + 3));
      mem.upload(p, p0);
      mem.upload(g, g0);
      gpu.updates.sgd(p, g, 0, n, 0.1, 0, 0, 0.01, false, true);
      const got = await mem.download(p, n + 3);
      const want = p0.map((v, i) => (i < n ? Math.fround(v - Math.fround(0.1) * (g0[i] + Math.fround(0.01) * v)) : v));
      expectClose(got, want, 1e-6, 1e-6, `sgd on ${n} values`);
      mem.free(p);
      mem.free(g);
    }
    expect(gpu.pipelinesCompiled - before).toBeLessThanOrEqual(1);
  });

  it('what is compiled in still gets its own pipeline: the activation, the tile, the K split', async () => {
    await compiles(tiledRelu[0]);
    const base = tiledRelu[0].attrs as Conv2dAttrs;
    const leaky = { ...tiledRelu[0], name: 'leaky', attrs: { ...base, activation: { kind: 'leakyRelu', alpha: 0.1 } } };
    expect(await compiles(leaky)).toBeGreaterThan(0);
    // Six rows: the 8×128 tile.
    const thin = conv('5→6 pad1 (thin tile)', [2, 5, 9, 7], { outChannels: 6, padding: [1, 1, 1, 1], activation: relu });
    expect(await compiles(thin)).toBeGreaterThan(0);
    // K = 40·9 split across workgroups: partials and a reduction pass.
    const split = conv('40→12 split K', [1, 40, 5, 6], { outChannels: 12, activation: relu });
    expect(await compiles(split)).toBeGreaterThan(0);
    const noAct = {
      ...tiledRelu[1],
      name: 'no activation',
      attrs: { ...(tiledRelu[1].attrs as Conv2dAttrs), activation: noActivation },
    };
    expect(await compiles(noAct)).toBeGreaterThan(0);
  });
});
