// The tiled GEMM's four-wide tile loads (gemm.ts, tileLoad4): chosen at plan time where an operand is
// contiguous along its loaded direction and that extent is a multiple of 4, the scalar loads elsewhere.
// Every case runs both ways — as planned, and with the scalar loads forced — and both must equal the
// reference. Which loads a kernel took is read from its label (the one its pipelines carry).
import { beforeAll, describe, expect, it } from 'vitest';
import { getBackend } from '../src/index.js';
import type { Backend } from '../src/backends/backend.js';
import type { WebGpuBackend } from '../src/backends/webgpu/index.js';
import { conv2dGradWeightWebGpu, conv2dWebGpu } from '../src/backends/webgpu/kernels/conv2d.js';
import {
  biasGradWebGpu,
  linearGradInputWebGpu,
  linearGradWeightWebGpu,
  linearWebGpu,
} from '../src/backends/webgpu/kernels/linear.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';
import type { Conv2dAttrs } from '../src/ops/types.js';
import { backwardCase } from './cases/grad.js';
import { convCase } from './cases/builders.js';
import { expectClose } from './helpers/random.js';
import { type OpCase, caseInputs, caseParams, runCase, runCaseAsync } from './helpers/single-op.js';
import { webgpuUnderTest } from './helpers/webgpu.js';

const relu = { kind: 'relu', alpha: 0 } as const;

const linear = (name: string, rows: number, inF: number, outF: number): OpCase => ({
  name,
  op: 'linear',
  attrs: { inFeatures: inF, outFeatures: outF, bias: true, activation: relu },
  inputs: [[rows, inF]],
});
const conv = (name: string, x: number[], o: Partial<Conv2dAttrs> & { outChannels: number }) => convCase(name, x, o);

const linearAligned = linear('linear 16→12', 5, 16, 12);
const linearOdd = linear('linear 13→5', 7, 13, 5);
const convAligned = conv('conv 4→10 2x2 (K 16)', [2, 4, 6, 5], { outChannels: 10, kernel: [2, 2], activation: relu });
const convOdd = conv('conv 5→12 3x3 pad1 (K 45, 63 pixels)', [2, 5, 9, 7], { outChannels: 12, padding: [1, 1, 1, 1] });
const conv48 = conv('conv 5→12 3x3 pad1 (48 pixels)', [2, 5, 8, 6], { outChannels: 12, padding: [1, 1, 1, 1] });
const convLongK = conv('conv 8→12 3x3 pad1 batch 4 (K split)', [4, 8, 8, 8], { outChannels: 12, padding: [1, 1, 1, 1] });

/** Each case and whether the planned kernel loads a tile four-wide. */
const cases: { c: OpCase; fourWide: boolean }[] = [
  { c: linearAligned, fourWide: true },
  { c: linearOdd, fourWide: false },
  { c: linear('linear batch 1, K 1000 split', 1, 1000, 6), fourWide: true },
  { c: backwardCase(linearAligned, 'linearGradInput'), fourWide: true },
  { c: backwardCase(linearAligned, 'linearGradWeight'), fourWide: true },
  { c: backwardCase(linearOdd, 'linearGradInput'), fourWide: false },
  { c: backwardCase(linearOdd, 'linearGradWeight'), fourWide: false },
  { c: convAligned, fourWide: true },
  { c: conv('conv 1x1 6→9 (24 pixels)', [2, 6, 4, 6], { outChannels: 9, kernel: [1, 1] }), fourWide: true },
  { c: conv('conv 1x1 6→9 (35 pixels)', [2, 6, 5, 7], { outChannels: 9, kernel: [1, 1] }), fourWide: false },
  { c: convOdd, fourWide: false },
  { c: backwardCase(conv48, 'conv2dGradWeight'), fourWide: true },
  { c: backwardCase(convLongK, 'conv2dGradWeight'), fourWide: true },
  { c: backwardCase(convOdd, 'conv2dGradWeight'), fourWide: false },
  { c: backwardCase(conv48, 'biasGrad'), fourWide: true },
  { c: backwardCase(convOdd, 'biasGrad'), fourWide: false },
];

const TILED_OPS = ['conv2d', 'conv2dGradWeight', 'linear', 'linearGradInput', 'linearGradWeight', 'biasGrad'] as const;

/**
 * The same device and memory, with the tiled kernels' factories either as the backend has them or with
 * the four-wide loads turned off; every kernel they make is recorded by its label.
 */
function recording(gpu: WebGpuBackend, vec4: boolean, labels: string[]): Backend {
  const ctx = gpu.context;
  const off = { vec4: false };
  const factories: Pick<Backend['kernels'], (typeof TILED_OPS)[number]> = vec4
    ? gpu.kernels
    : {
        conv2d: conv2dWebGpu(ctx, off),
        conv2dGradWeight: conv2dGradWeightWebGpu(ctx, off),
        linear: linearWebGpu(ctx, off),
        linearGradInput: linearGradInputWebGpu(ctx, off),
        linearGradWeight: linearGradWeightWebGpu(ctx, off),
        biasGrad: biasGradWebGpu(ctx, off),
      };
  const kernels: Backend['kernels'] = { ...gpu.kernels };
  for (const op of TILED_OPS) {
    const make = factories[op] as (spec: never) => { label?: string };
    (kernels as Record<string, unknown>)[op] = (spec: never) => {
      const k = make(spec);
      labels.push(k.label ?? '(unlabelled)');
      return k;
    };
  }
  return { ...gpu, kernels };
}

describe.runIf(webgpuUnderTest)('webgpu tiled GEMM: four-wide tile loads where aligned, scalar elsewhere', () => {
  const reference = createReferenceBackend();
  let gpu: WebGpuBackend;
  beforeAll(async () => {
    gpu = (await getBackend('webgpu')) as WebGpuBackend;
  });
  for (const { c, fourWide } of cases) {
    it(`${c.name}: ${fourWide ? 'four-wide' : 'scalar'} loads, both ways equal to the reference`, async () => {
      const params = caseParams(c);
      const inputs = caseInputs(c);
      const want = runCase(c, reference, params, inputs);
      const planned: string[] = [];
      const scalar: string[] = [];
      expectClose(
        await runCaseAsync(c, recording(gpu, true, planned), params, inputs),
        want,
        1e-5,
        1e-4,
        `${c.name}, as planned`,
      );
      expectClose(
        await runCaseAsync(c, recording(gpu, false, scalar), params, inputs),
        want,
        1e-5,
        1e-4,
        `${c.name}, scalar loads`,
      );
      expect(planned.length, 'one tiled kernel made').toBe(1);
      expect(planned[0].includes('4-wide loads'), planned[0]).toBe(fourWide);
      expect(scalar[0].includes('4-wide loads'), scalar[0]).toBe(false);
    });
  }
});
