import { describe, expect, it } from 'vitest';
import { type Tensor, tensor } from '../src/index.js';
import { WasmArena } from '../src/backends/arena.js';
import type { Backend, KernelTable } from '../src/backends/backend.js';
import { conv2dReference } from '../src/backends/reference/kernels/conv2d.js';
import { linearReference } from '../src/backends/reference/kernels/linear.js';
import { registerBackend } from '../src/backends/registry.js';
import type { WasmContext } from '../src/backends/wasm/context.js';
import { conv2dGradInputWasm, conv2dGradWeightWasm } from '../src/backends/wasm/kernels/conv2d-grad.js';
import * as ew from '../src/backends/wasm/kernels/elementwise.js';
import * as eg from '../src/backends/wasm/kernels/elementwise-grad.js';
import { linearGradInputWasm, linearGradWeightWasm } from '../src/backends/wasm/kernels/linear-grad.js';
import * as pw from '../src/backends/wasm/kernels/pool2d.js';
import * as pg from '../src/backends/wasm/kernels/pool2d-grad.js';
import { type KernelExports, loadWasm } from '../src/backends/wasm/loader.js';
import type { HostArena } from '../src/backends/arena.js';
import { wasmBuilds } from './helpers/backends.js';
import { parityFixtures, readFixture } from './helpers/models.js';
import { expectClose } from './helpers/random.js';

/**
 * Whole-model backward on wasm against PyTorch's autograd (the grad fixtures), before the wasm forward
 * convolution and assembly/gemm.ts exist: every backward kernel is the wasm one, the conv/linear
 * backward glue runs on a plain-JS f32_gemm with the agreed contract, and only the forward conv2d and
 * linear are the reference kernels (on the same wasm memory). Once the real kernels land,
 * tests/grad-parity.test.ts covers the same on the plain wasm backend.
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

async function hybrid(build: (typeof wasmBuilds)[number]): Promise<Backend> {
  const loaded = await loadWasm(build);
  const exports = {
    ...loaded.exports,
    f32_gemm: jsGemm(loaded.exports.memory),
    f32_gemm_scratch_bytes: () => 0,
  } as KernelExports;
  const arena = new WasmArena(loaded.exports.memory, loaded.exports.heap_base());
  const ctx: WasmContext = { exports, arena, build };
  const host = arena as unknown as HostArena;
  const kernels: KernelTable = {
    conv2d: conv2dReference(host),
    linear: linearReference(host),
    activation: ew.activationWasm(ctx),
    add: ew.addWasm(ctx),
    batchNorm2d: ew.batchNorm2dWasm(ctx),
    softmax: ew.softmaxWasm(ctx),
    maxPool2d: pw.maxPool2dWasm(ctx),
    avgPool2d: pw.avgPool2dWasm(ctx),
    adaptiveAvgPool2d: pw.adaptiveAvgPool2dWasm(ctx),
    conv2dGradInput: conv2dGradInputWasm(ctx),
    conv2dGradWeight: conv2dGradWeightWasm(ctx),
    linearGradInput: linearGradInputWasm(ctx),
    linearGradWeight: linearGradWeightWasm(ctx),
    biasGrad: eg.biasGradWasm(ctx),
    activationGrad: eg.activationGradWasm(ctx),
    batchNorm2dGradInput: eg.batchNorm2dGradInputWasm(ctx),
    batchNorm2dGradWeight: eg.batchNorm2dGradWeightWasm(ctx),
    softmaxGrad: eg.softmaxGradWasm(ctx),
    dropoutMask: eg.dropoutMaskWasm(ctx),
    mul: eg.mulWasm(ctx),
    maxPool2dGrad: pg.maxPool2dGradWasm(ctx),
    avgPool2dGrad: pg.avgPool2dGradWasm(ctx),
    adaptiveAvgPool2dGrad: pg.adaptiveAvgPool2dGradWasm(ctx),
  };
  return { name: 'wasm', arena, kernels, info: () => ({ name: 'wasm', build }) };
}

for (const build of wasmBuilds) registerBackend(`test-wasm-backward-${build}`, () => hybrid(build));

const maxAbs = (values: Iterable<number>) => {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
};

for (const fixture of parityFixtures.filter((f) => f.name !== 'reference_cnn')) {
  describe(`${fixture.name}: wasm backward kernels vs PyTorch autograd`, () => {
    const weights = readFixture(`${fixture.name}.safetensors`).tensors;
    const g = readFixture(`${fixture.name}.grad.safetensors`).tensors;
    const need = (k: string): Tensor => {
      const t = g.get(k);
      if (!t) throw new Error(`${fixture.name}.grad.safetensors lacks ${k}`);
      return t;
    };
    for (const build of wasmBuilds) {
      it(`wasm:${build}`, async () => {
        const net = fixture.build();
        await net.to(`test-wasm-backward-${build}`);
        net.loadStateDict(weights);
        net.train();
        for (const [name, child] of net.namedChildren()) if (name === 'drop') child.eval();
        const x = need('__input__');
        const backend = await net.currentBackend();
        let high = 0;
        try {
          for (let step = 0; step < 2; step++) {
            for (const p of net.parameters()) p.grad = null;
            net.loadStateDict(weights);
            const out = await net.forward(tensor(x.dataSync().slice(), x.shape));
            await out.backward(need('__r__').dataSync());
            if (step === 0) high = backend.arena.highWater;
          }
          expect(backend.arena.highWater).toBe(high);
          const scale = Math.max(...net.namedParameters().map(([name]) => maxAbs(need(`grad.${name}`).dataSync())));
          for (const [name, p] of net.namedParameters()) {
            expectClose(p.grad as Float32Array, need(`grad.${name}`).dataSync(), 1e-6 * scale + 1e-7, 1e-4, `grad of ${name}`);
          }
        } finally {
          net.releasePlans();
        }
      });
    }
  });
}
