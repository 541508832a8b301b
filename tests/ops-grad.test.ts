import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../src/index.js';
import type { Backend } from '../src/backends/backend.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';
import { buildTrainingGraph } from '../src/graph/autodiff.js';
import { inferShapes } from '../src/graph/shapes.js';
import { opDef } from '../src/ops/index.js';
import { backendsUnderTest, loadBackend, oneThreadTwin } from './helpers/backends.js';
import { expectClose, expectSameBits } from './helpers/random.js';
import { type OpCase, caseInputs, caseParams, runCase, runCaseAsync } from './helpers/single-op.js';
import { loadWebGpu, webgpuMissingOps, webgpuUnderTest } from './helpers/webgpu.js';
import { gradCases, tiledGradCases } from './cases/grad.js';

/**
 * Backward op cases, as data: every backward node that autodiff emits for the gradient-check cases
 * (same awkward shapes and attributes), run alone on each wasm build against the reference.
 */
function backwardCases(): OpCase[] {
  const out: OpCase[] = [];
  const seen = new Set<string>();
  for (const c of [...gradCases, ...tiledGradCases]) {
    const g = new Graph();
    const ins = c.inputs.map(() => g.addInput());
    g.outputs = [g.addNode(c.op, c.name, c.attrs as never, ins, caseParams(c))];
    const t = buildTrainingGraph(g, c.inputs, { inputGrads: true });
    const shapes = inferShapes(t.graph, [...c.inputs, t.outputShape]);
    for (const node of t.graph.nodes.slice(t.forwardNodes)) {
      if (opDef(node.op).alias?.(node.attrs as never) || node.op === 'add') continue;
      const name = `${c.name} → ${node.op}`;
      if (seen.has(name)) continue;
      seen.add(name);
      out.push({ name, op: node.op, attrs: node.attrs, inputs: node.inputs.map((v) => shapes[v]), positive: c.positive });
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

const cases = backwardCases();
const reference = createReferenceBackend();
const expected = new Map(
  cases.map((c) => {
    const params = caseParams(c);
    const inputs = caseInputs(c);
    return [c.name, { params, inputs, output: runCase(c, reference, params, inputs) }];
  }),
);

describe('backward op cases', () => {
  it('cover every backward op', () => {
    const ops = new Set(cases.map((c) => c.op));
    for (const op of [
      'conv2dGradInput',
      'conv2dGradWeight',
      'biasGrad',
      'activationGrad',
      'maxPool2dGrad',
      'avgPool2dGrad',
      'adaptiveAvgPool2dGrad',
      'linearGradInput',
      'linearGradWeight',
      'batchNorm2dGradInput',
      'batchNorm2dGradWeight',
      'softmaxGrad',
      'dropoutMask',
      'mul',
    ]) {
      expect(ops.has(op as never), op).toBe(true);
    }
  });
});

for (const b of backendsUnderTest.filter((b) => b.name !== 'reference')) {
  describe(`backward ops on ${b.label} match the reference`, () => {
    let backend: Backend;
    // A threaded configuration must give its build's one-thread result bit for bit.
    const twin = (b.threads ?? 1) > 1 ? oneThreadTwin(b) : undefined;
    let twinBackend: Backend | undefined;
    beforeAll(async () => {
      backend = await loadBackend(b);
      if (twin) twinBackend = await loadBackend(twin);
    });
    for (const c of cases) {
      it(c.name, () => {
        const e = expected.get(c.name);
        if (!e) throw new Error('missing reference result');
        // Every wasm build has every backward kernel: a missing one throws here and fails the case.
        const out = runCase(c, backend, e.params, e.inputs);
        expectClose(out, e.output, 1e-5, 1e-4, `${c.name} on ${b.label}`);
        if (twinBackend) expectSameBits(out, runCase(c, twinBackend, e.params, e.inputs), `${c.name}: ${b.label} vs one thread`);
      });
    }

    it('max-pool backward: ties go to the first maximum, NaN wins (tiled SIMD, tiled scalar and general paths)', () => {
      const pool = (k: number, s: number, pad: number, ceilMode: boolean) => ({
        kernel: [k, k],
        stride: [s, s],
        padding: [pad, pad],
        dilation: [1, 1],
        ceilMode,
        countIncludePad: true,
      });
      // [attrs, input shape, output shape]: 2x2/2 on a wide row (4-window SIMD steps plus a scalar tail
      // and a ceil-mode edge column), 3x3/3 tiled, 3x3/2 padded (general).
      const setups = [
        [pool(2, 2, 0, true), [1, 2, 5, 19], [1, 2, 3, 10]],
        [pool(3, 3, 0, false), [1, 2, 7, 13], [1, 2, 2, 4]],
        [pool(3, 2, 1, false), [1, 2, 5, 5], [1, 2, 3, 3]],
      ] as const;
      for (const [attrs, xs, ys] of setups) {
        const c: OpCase = { name: 'maxpool ties', op: 'maxPool2dGrad', attrs: attrs as never, inputs: [[...ys], [...xs]] };
        const n = xs.reduce((a, b) => a * b, 1);
        // Runs of equal values (ties inside windows), and NaNs at a window's first, second and last cell.
        const x = new Float32Array(n).map((_, i) => Math.floor(i / 3) % 2);
        for (const at of [7, 31, 33, 40, 41, n - 1]) if (at < n) x[at] = Number.NaN;
        const dy = new Float32Array(ys.reduce((a, b) => a * b, 1)).map((_, i) => i + 1);
        const params = caseParams(c);
        const want = runCase(c, reference, params, [dy, x]);
        expect(Array.from(runCase(c, backend, params, [dy, x]))).toEqual(Array.from(want));
      }
    });
  });
}

// WebGPU (SwiftShader in CI): every backward case but the dropout mask, which it leaves to other backends.
describe.runIf(webgpuUnderTest)('backward ops on webgpu match the reference', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await loadWebGpu();
  });
  for (const c of cases.filter((c) => !webgpuMissingOps.has(c.op))) {
    it(c.name, async () => {
      const e = expected.get(c.name);
      if (!e) throw new Error('missing reference result');
      const out = await runCaseAsync(c, backend, e.params, e.inputs);
      expectClose(out, e.output, 1e-5, 1e-4, `${c.name} on webgpu`);
    });
  }
  it('max-pool backward: ties go to the first maximum, NaN wins', async () => {
    const attrs = { kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], ceilMode: false, countIncludePad: true };
    const xs = [1, 2, 5, 5];
    const ys = [1, 2, 3, 3];
    const c: OpCase = { name: 'maxpool ties', op: 'maxPool2dGrad', attrs: attrs as never, inputs: [ys, xs] };
    const x = new Float32Array(50).map((_, i) => Math.floor(i / 3) % 2);
    for (const at of [7, 31, 33, 40, 41, 49]) x[at] = Number.NaN;
    const dy = new Float32Array(18).map((_, i) => i + 1);
    const params = caseParams(c);
    const want = runCase(c, reference, params, [dy, x]);
    expect(Array.from(await runCaseAsync(c, backend, params, [dy, x]))).toEqual(Array.from(want));
  });
});
