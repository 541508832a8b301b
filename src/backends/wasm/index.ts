import { WasmArena } from '../arena.js';
import type { Backend, KernelTable } from '../backend.js';
import { type BackendOptions, registerBackend } from '../registry.js';
import type { WasmContext } from './context.js';
import { activationWasm, addWasm, batchNorm2dWasm, dropoutWasm, softmaxWasm } from './kernels/elementwise.js';
import { adaptiveAvgPool2dWasm, avgPool2dWasm, maxPool2dWasm } from './kernels/pool2d.js';
import { conv2dWasm } from './kernels/conv2d.js';
import { linearWasm } from './kernels/linear.js';
import { detectFeatures, loadWasm } from './loader.js';
import { chooseThreads } from './thread-count.js';
import { ThreadPool } from './threads.js';
import { wasmUpdates } from './updates.js';
import * as to from './kernels/tensor-ops.js';
import { conv2dGradInputWasm, conv2dGradWeightWasm } from './kernels/conv2d-grad.js';
import * as eg from './kernels/elementwise-grad.js';
import { linearGradInputWasm, linearGradWeightWasm } from './kernels/linear-grad.js';
import * as pg from './kernels/pool2d-grad.js';
import * as rd from './kernels/reduce.js';
import * as ln from './kernels/layer-norm.js';
import * as sel from './kernels/select.js';

/**
 * The WebAssembly backend: AssemblyScript kernels (simd, relaxed or scalar build) over one arena. With
 * more than one thread (options.threads; default: the reported cores, capped — thread-count.ts) the
 * build's threaded twin runs over a shared memory, instantiated again in each worker of a ThreadPool.
 */
export async function createWasmBackend(options: BackendOptions = {}): Promise<Backend & { arena: WasmArena }> {
  const features = await detectFeatures();
  const build = options.build ?? (features.relaxedSimd ? 'relaxed' : features.simd ? 'simd' : 'scalar');
  const choice = await chooseThreads(options.threads, build);
  const loaded = await loadWasm(options.build, { shared: choice.threads > 1 });
  const pool = loaded.shared
    ? await ThreadPool.start(choice.threads, loaded.module, loaded.exports.memory, loaded.exports)
    : null;
  const arena = new WasmArena(loaded.exports.memory, loaded.exports.heap_base());
  const ctx: WasmContext = { exports: loaded.exports, arena, build: loaded.build, pool };
  const kernels: KernelTable = {
    // Training: backward kernels (conv/linear ones need f32_gemm from assembly/gemm.ts at plan time).
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
    conv2d: conv2dWasm(ctx),
    linear: linearWasm(ctx),
    activation: activationWasm(ctx),
    add: addWasm(ctx),
    batchNorm2d: batchNorm2dWasm(ctx),
    dropout: dropoutWasm(ctx),
    softmax: softmaxWasm(ctx),
    maxPool2d: maxPool2dWasm(ctx),
    avgPool2d: avgPool2dWasm(ctx),
    adaptiveAvgPool2d: adaptiveAvgPool2dWasm(ctx),
    // ONNX import ops (wasm/kernels/tensor-ops.ts says which run in wasm).
    binary: to.binaryWasm(ctx),
    constant: to.constantWasm(ctx),
    concat: to.concatWasm(ctx),
    transpose: to.transposeWasm(ctx),
    pad: to.padWasm(ctx),
    unary: to.unaryWasm(ctx),
    matmul: to.matmulWasm(ctx),
    unaryGrad: to.unaryGradWasm(ctx),
    reduce: rd.reduceWasm(ctx),
    expand: rd.expandWasm(ctx),
    slice: rd.sliceWasm(ctx),
    layerNorm: ln.layerNormWasm(ctx),
    layerNormGradInput: ln.layerNormGradInputWasm(ctx),
    layerNormGradWeight: ln.layerNormGradWeightWasm(ctx),
    where: sel.whereWasm(ctx),
    gather: sel.gatherWasm(ctx),
    binaryGrad: sel.binaryGradWasm(ctx),
    whereGrad: sel.whereGradWasm(ctx),
    gatherGrad: sel.gatherGradWasm(ctx),
    reduceMaxGrad: sel.reduceMaxGradWasm(ctx),
  };
  return {
    name: 'wasm',
    memory: arena,
    arena,
    kernels,
    updates: wasmUpdates(ctx),
    info: () => ({
      name: 'wasm',
      build: loaded.build,
      features: { ...loaded.features },
      threads: pool?.threads ?? 1,
      threadsReason: choice.reason,
    }),
  };
}

registerBackend('wasm', (options) => createWasmBackend(options));
