// Micro-benchmark of the reference CNN's conv and linear layers on each wasm build (one thread), to tune
// the GEMM: `npx tsx bench/conv-layers.ts [--builds relaxed,simd,scalar] [--batches 32,1] [--reps N]
//`. Each layer runs as a one-node plan (conv with its fused ReLU); the figure is the best and
// the median of the timed runs after warm-up. The network line is the sum of these layers only (pooling
// and the rest are in `npm run bench`), against the 89.6 MFLOP per image.
import { performance } from 'node:perf_hooks';
import { models, tensor } from '../src/index.js';
import { getBackend } from '../src/backends/registry.js';
import '../src/backends/wasm/index.js';
import { Parameter } from '../src/core/parameter.js';
import type { Shape } from '../src/core/shape.js';
import { Graph } from '../src/graph/ir.js';
import { Plan } from '../src/graph/plan.js';
import type { WasmBuild } from '../src/backends/registry.js';
import type { Conv2dAttrs, LinearAttrs } from '../src/ops/types.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const builds = opt('builds', 'relaxed,simd,scalar').split(',') as WasmBuild[];
const batches = opt('batches', '32,1').split(',').map(Number);
const repsOpt = Number(opt('reps', '0'));

const relu = { kind: 'relu' as const, alpha: 0 };
interface Layer {
  name: string;
  op: 'conv2d' | 'linear';
  attrs: Conv2dAttrs | LinearAttrs;
  input: (n: number) => Shape;
  flops: number; // per image
}
const conv = (name: string, cin: number, cout: number, hw: number): Layer => ({
  name,
  op: 'conv2d',
  attrs: {
    inChannels: cin,
    outChannels: cout,
    kernel: [3, 3],
    stride: [1, 1],
    padding: [1, 1, 1, 1],
    dilation: [1, 1],
    groups: 1,
    bias: true,
    activation: relu,
  },
  input: (n) => [n, cin, hw, hw],
  flops: 2 * cout * cin * 9 * hw * hw,
});
const fc = (name: string, k: number, m: number, last = false): Layer => ({
  name,
  op: 'linear',
  attrs: { inFeatures: k, outFeatures: m, bias: true, activation: last ? { kind: 'none', alpha: 0 } : relu },
  input: (n) => [n, k],
  flops: 2 * k * m,
});
const layers: Layer[] = [
  conv('conv1 3->64 32x32', 3, 64, 32),
  conv('conv2 64->128 16x16', 64, 128, 16),
  conv('conv3 128->256 8x8', 128, 256, 8),
  fc('fc1 4096->1024', 4096, 1024),
  fc('fc2 1024->512', 1024, 512),
  fc('fc3 512->10', 512, 10, true),
];

function randomFill(a: Float32Array, seed: number): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 0.2;
  }
  return a;
}

for (const build of builds) {
  const backend = await getBackend('wasm', { build });
  for (const n of batches) {
    let totalMs = 0;
    let totalFlops = 0;
    const rows: string[] = [];
    for (const [li, layer] of layers.entries()) {
      const g = new Graph();
      const x = g.addInput();
      const shapes =
        layer.op === 'conv2d'
          ? {
              weight: [(layer.attrs as Conv2dAttrs).outChannels, (layer.attrs as Conv2dAttrs).inChannels, 3, 3],
              bias: [(layer.attrs as Conv2dAttrs).outChannels],
            }
          : {
              weight: [(layer.attrs as LinearAttrs).outFeatures, (layer.attrs as LinearAttrs).inFeatures],
              bias: [(layer.attrs as LinearAttrs).outFeatures],
            };
      const params: Record<string, Parameter> = {};
      for (const [key, shape] of Object.entries(shapes)) {
        const size = shape.reduce((a, b) => a * b, 1);
        params[key] = new Parameter(shape, { values: randomFill(new Float32Array(size), li * 7 + key.length) });
      }
      g.outputs = [g.addNode(layer.op, layer.name, layer.attrs as never, [x], params)];
      const inShape = layer.input(n);
      const plan = new Plan(g, [inShape], backend);
      const input = randomFill(new Float32Array(inShape.reduce((a, b) => a * b, 1)), 99 + li);
      const flops = layer.flops * n;
      // About 40 ms of timed work per layer and build (at least 5 runs).
      // runProfiled times the kernel alone (not the copies of the input in and the output out).
      const kernelMs = () => plan.runProfiled([input]).layers[0].ms;
      kernelMs();
      const once = kernelMs();
      const reps = repsOpt > 0 ? repsOpt : Math.max(5, Math.min(200, Math.round(40 / Math.max(once, 0.01))));
      const times: number[] = [];
      for (let r = 0; r < reps; r++) times.push(kernelMs());
      plan.dispose();
      times.sort((a, b) => a - b);
      const best = times[0];
      const median = times[Math.floor(times.length / 2)];
      totalMs += best;
      totalFlops += flops;
      rows.push(
        `  ${layer.name.padEnd(22)} ${best.toFixed(3).padStart(9)} ms  ${(flops / best / 1e6).toFixed(1).padStart(6)} GFLOP/s best  ${(flops / median / 1e6).toFixed(1).padStart(6)} median  (${reps} runs)`,
      );
    }
    console.log(`wasm:${build} batch ${n}`);
    for (const r of rows) console.log(r);
    console.log(
      `  ${'conv+fc layers'.padEnd(22)} ${totalMs.toFixed(3).padStart(9)} ms  ${(totalFlops / totalMs / 1e6).toFixed(1).padStart(6)} GFLOP/s (sum of bests; ${((89.6e6 * n) / totalMs / 1e6).toFixed(1)} at 89.6 MFLOP/image)`,
    );
  }
  // The whole reference CNN (pooling, flatten and all) through the public API, on this build.
  for (const n of batches) {
    const net = referenceCnn();
    await net.to('wasm', { build });
    net.eval();
    const x = tensor(randomFill(new Float32Array(n * 3 * 32 * 32), 5), [n, 3, 32, 32]);
    await (await net.forward(x)).data();
    const times: number[] = [];
    const reps = n === 1 ? 100 : 10;
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      await (await net.forward(x)).data();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const best = times[0];
    const median = times[Math.floor(times.length / 2)];
    console.log(
      `wasm:${build} whole network batch ${n}: best ${best.toFixed(2)} ms (${((89.6e6 * n) / best / 1e6).toFixed(1)} GFLOP/s), median ${median.toFixed(2)} ms (${((89.6e6 * n) / median / 1e6).toFixed(1)} GFLOP/s)`,
    );
  }
}

function referenceCnn() {
  return models.cifarNet();
}
