import { describe, it } from 'vitest';
import { Graph } from '../src/index.js';
import { WasmArena } from '../src/backends/arena.js';
import { wasmUpdates } from '../src/backends/wasm/updates.js';
import type { Backend } from '../src/backends/backend.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';
import type { WasmContext } from '../src/backends/wasm/context.js';
import { conv2dGradInputWasm, conv2dGradWeightWasm } from '../src/backends/wasm/kernels/conv2d-grad.js';
import { linearGradInputWasm, linearGradWeightWasm } from '../src/backends/wasm/kernels/linear-grad.js';
import { type KernelExports, loadWasm } from '../src/backends/wasm/loader.js';
import { buildTrainingGraph } from '../src/graph/autodiff.js';
import { inferShapes } from '../src/graph/shapes.js';
import { gradCases } from './cases/grad.js';
import { wasmBuilds } from './helpers/backends.js';
import { expectClose } from './helpers/random.js';
import { type OpCase, caseInputs, caseParams, runCase } from './helpers/single-op.js';

/**
 * The GEMM-based conv/linear backward glue (im2col, transposes, leading dimensions, group and batch
 * offsets, col2im) checked against the reference with f32_gemm replaced by a plain-JS loop implementing
 * the agreed contract — f32_gemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, scratch):
 * row-major, C = (accumulate ? C : 0) + op(A)·op(B). (The input gradients use the packed-panel entry
 * points with W packed once, which stay the module's own; tests/ops-grad.test.ts runs everything real.)
 */
function jsGemm(memory: WebAssembly.Memory) {
  return (
    ta: number,
    tb: number,
    m: number,
    n: number,
    k: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    acc: number,
  ): number => {
    const f = new Float32Array(memory.buffer);
    const A = a >> 2;
    const B = b >> 2;
    const C = c >> 2;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++)
          s += (ta ? f[A + p * lda + i] : f[A + i * lda + p]) * (tb ? f[B + j * ldb + p] : f[B + p * ldb + j]);
        f[C + i * ldc + j] = (acc ? f[C + i * ldc + j] : 0) + s;
      }
    }
    return 0;
  };
}

function gemmCases(): OpCase[] {
  const out: OpCase[] = [];
  for (const c of gradCases.filter((c) => c.op === 'conv2d' || c.op === 'linear')) {
    const g = new Graph();
    const ins = c.inputs.map(() => g.addInput());
    g.outputs = [g.addNode(c.op, c.name, c.attrs as never, ins, caseParams(c))];
    const t = buildTrainingGraph(g, c.inputs, { inputGrads: true });
    const shapes = inferShapes(t.graph, [...c.inputs, t.outputShape]);
    for (const node of t.graph.nodes.slice(t.forwardNodes)) {
      if (!/^(conv2d|linear)Grad/.test(node.op)) continue;
      out.push({ name: `${c.name} → ${node.op}`, op: node.op, attrs: node.attrs, inputs: node.inputs.map((v) => shapes[v]) });
    }
  }
  return out;
}

const cases = gemmCases();
const reference = createReferenceBackend();

for (const build of wasmBuilds) {
  describe(`conv/linear backward glue on wasm:${build} (JS f32_gemm)`, () => {
    let backend: Backend | null = null;
    const get = async (): Promise<Backend> => {
      if (backend) return backend;
      const loaded = await loadWasm(build);
      const exports = {
        ...loaded.exports,
        f32_gemm: jsGemm(loaded.exports.memory),
        f32_gemm_scratch_bytes: () => 0,
      } as KernelExports;
      const arena = new WasmArena(loaded.exports.memory, loaded.exports.heap_base());
      const ctx: WasmContext = { exports, arena, build };
      backend = {
        name: 'wasm',
        memory: arena,
        updates: wasmUpdates(ctx),
        kernels: {
          conv2dGradInput: conv2dGradInputWasm(ctx),
          conv2dGradWeight: conv2dGradWeightWasm(ctx),
          linearGradInput: linearGradInputWasm(ctx),
          linearGradWeight: linearGradWeightWasm(ctx),
        },
        info: () => ({ name: 'wasm', build }),
      };
      return backend;
    };
    for (const c of cases) {
      it(c.name, async () => {
        const params = caseParams(c);
        const inputs = caseInputs(c);
        const expected = runCase(c, reference, params, inputs);
        const got = runCase(c, await get(), params, inputs);
        expectClose(got, expected, 1e-5, 1e-4, c.name);
      });
    }
  });
}
