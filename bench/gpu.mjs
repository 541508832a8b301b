// WebGPU benchmark: vireo's webgpu backend against @tensorflow/tfjs-backend-webgpu, in one process on one
// adapter, interleaved (each timed round runs vireo once, then tfjs once, so drift hits both alike):
//
//   models   the reference CNN (three 3×3 convolutions 64/128/256 with max-pooling, three dense layers)
//            and a MobileNet-style network (3×3 stem, five depthwise-separable blocks with batch norm and
//            ReLU6, global average pooling, one dense layer), both on 32×32×3 inputs
//   forward  batch 1, 32 and 256 (eval mode)
//   training one SGD step (momentum 0.9) at batch 32 and 256
//
// Each timed run ends with the output (or the loss) read back to the host: what a caller waits for. Prints
// ms, images/s, GFLOP/s and vireo's speed over tfjs's per row, and writes the rows as JSON (--out FILE).
//
// Run it bundled (tfjs-core's gradient registrations are extensionless ESM that Node cannot import directly);
// scripts/gpu-session.sh does all of it: `prepare` here (build, bundle, pack .gpu/), `run` on the GPU machine.
// SwiftShader (a CPU Vulkan) runs it correctly but slowly: `--smoke` (tiny batches, two runs) checks the
// script end to end; never quote its times.
//
// Written as a script with no top-level await so it bundles as CommonJS; Dawn's `webgpu` package is loaded
// before anything that registers a WebGPU backend, and both libraries share its navigator.gpu.

import { writeJson } from './common.mjs';
import { randomArray, tfjsModel, vireoModel } from './gpu-models.mjs';
import { measurePlacement, printPlacement } from './placement.mjs';

const MODELS = ['cnn', 'mobilenet'];
/** The targets the GPU work is measured against (vireo over tfjs-backend-webgpu, same run). */
const TARGETS = { forwardLatencyB1: 0.7, forwardThroughput: 1.5, trainThroughput: 3 };

function parse(argv) {
  const o = {
    smoke: false,
    json: false,
    warmup: 5,
    runs: 15,
    forward: [1, 32, 256],
    train: [32, 256],
    models: MODELS,
    placement: false,
    placementBatches: [1, 32, 256],
    out: process.env.OUT ? `${process.env.OUT}/gpu-bench.json` : null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--smoke')
      Object.assign(o, { smoke: true, warmup: 1, runs: 2, forward: [1, 2], train: [2], placementBatches: [1, 2] });
    else if (a === '--placement') o.placement = true;
    else if (a === '--json') o.json = true;
    else if (a === '--no-train') o.train = [];
    else if (a === '--out' && i + 1 < argv.length) o.out = argv[++i];
    else if (a === '--models' && i + 1 < argv.length) o.models = argv[++i].split(',').filter((m) => MODELS.includes(m));
    else
      throw new Error(
        `bench/gpu.mjs: unknown argument ${a} (use --smoke, --json, --no-train, --placement, --out FILE, --models cnn,mobilenet)`,
      );
  }
  return o;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Warm-up, then rounds of (vireo, tfjs): medians of each. */
async function interleaved(vireoRun, tfjsRun, warmup, runs) {
  for (let i = 0; i < warmup; i++) {
    await vireoRun();
    await tfjsRun();
  }
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await vireoRun();
    a.push(performance.now() - t0);
    t0 = performance.now();
    await tfjsRun();
    b.push(performance.now() - t0);
  }
  return [median(a), median(b)];
}

/** Dawn's GPU as navigator.gpu (Node has none), set before tfjs-backend-webgpu is imported. */
async function setupNavigator() {
  if (globalThis.navigator?.gpu) return;
  const name = 'webgpu'; // a variable: bundlers leave the native package to be resolved at run time
  const { create, globals } = await import(name);
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) globalThis[k] = v;
  const gpu = create([]);
  if (globalThis.navigator) Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
  else globalThis.navigator = { gpu };
}

async function benchModel(vireo, tf, which, o, rows) {
  const net = vireoModel(vireo.nn, which);
  await net.to('webgpu');
  const model = tfjsModel(tf, which);
  const flopsPerImage = (await net.plan([1, 3, 32, 32])).totalFlops;
  net.eval();
  for (const batch of o.forward) {
    const x = randomArray(batch * 3 * 32 * 32, 99);
    const xv = new vireo.Tensor(x, [batch, 3, 32, 32]);
    const xt = tf.tensor(x, [batch, 32, 32, 3]);
    const [vireoMs, tfjsMs] = await interleaved(
      async () => (await net.forward(xv)).data(),
      async () => {
        const y = tf.tidy(() => model.forward(xt, false));
        await y.data();
        y.dispose();
      },
      o.warmup,
      o.runs,
    );
    xt.dispose();
    rows.push({ model: which, what: 'forward', batch, flops: flopsPerImage * batch, vireoMs, tfjsMs });
  }
  net.train();
  for (const batch of o.train) {
    const x = randomArray(batch * 3 * 32 * 32, 7);
    const labels = Array.from({ length: batch }, (_, i) => i % 10);
    const criterion = new vireo.nn.CrossEntropyLoss();
    const sgd = new vireo.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    const xv = new vireo.Tensor(x, [batch, 3, 32, 32]);
    const yv = vireo.tensor(labels);
    const opt = tf.train.momentum(0.01, 0.9);
    const xt = tf.tensor(x, [batch, 32, 32, 3]);
    const yt = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
    const [vireoMs, tfjsMs] = await interleaved(
      async () => {
        sgd.zeroGrad();
        const loss = criterion.forward(await net.forward(xv), yv);
        await loss.backward();
        sgd.step();
        await loss.data();
      },
      async () => {
        const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(yt, model.forward(xt, true)), true, model.vars);
        await loss.data();
        loss.dispose();
      },
      o.warmup,
      o.runs,
    );
    await sgd.disposeAsync();
    opt.dispose();
    xt.dispose();
    yt.dispose();
    // A training step is about three forward passes of work (forward, grad input, grad weight).
    rows.push({ model: which, what: 'train step', batch, flops: 3 * flopsPerImage * batch, vireoMs, tfjsMs });
  }
  await net.syncToHost();
  net.releasePlans();
}

/** Whether a row meets its target: b1 forward by latency, the rest by throughput (vireo over tfjs). */
function target(r) {
  if (r.what === 'forward' && r.batch === 1)
    return { want: `latency ≤ ${TARGETS.forwardLatencyB1}× tfjs`, met: r.vireoMs <= TARGETS.forwardLatencyB1 * r.tfjsMs };
  const want = r.what === 'forward' ? TARGETS.forwardThroughput : TARGETS.trainThroughput;
  return { want: `throughput ≥ ${want}× tfjs`, met: r.speedup >= want };
}

/**
 * --placement: the scheduler's table on this machine — for each model and batch, auto's chosen placement
 * among wasm (threads) and webgpu, its measured forward and training step against each backend alone and a
 * second wasm-only model (the noise floor), and the cost model's estimate against the measurement.
 */
async function placementTables(vireo, o) {
  const runs = [];
  for (const which of o.models) {
    for (const batch of o.placementBatches) {
      vireo.manualSeed(1);
      const m = await measurePlacement(vireo, {
        net: vireoModel(vireo.nn, which),
        copy: async () => vireoModel(vireo.nn, which),
        shape: [3, 32, 32],
        classes: 10,
        batch,
        rounds: o.smoke ? 1 : 7,
        // On a GPU machine every candidate is worth timing alone (on SwiftShader the webgpu one is not).
        all: !o.smoke,
      });
      if (!o.json) {
        printPlacement(console.log, which === 'cnn' ? 'reference CNN' : 'MobileNet-style', m);
        console.log('');
      }
      runs.push({ model: which, ...m.result });
    }
  }
  return runs;
}

async function main() {
  const o = parse(process.argv.slice(2));
  await setupNavigator();
  const vireo = await import('../dist/index.js');
  if (o.placement) {
    const backend = await vireo.getBackend('webgpu');
    const placement = await placementTables(vireo, o);
    const result = { adapter: backend.info().adapter, smoke: o.smoke, placement };
    if (o.out) writeJson(o.out, result);
    if (o.json) console.log(JSON.stringify(result, null, 2));
    else if (o.out) console.log(`written: ${o.out}`);
    await vireo.disposeBackend('webgpu');
    return;
  }
  const tf = await import('@tensorflow/tfjs-core');
  // Gradients are registered by the union package; tfjs-core alone has none (training needs them).
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  await import('@tensorflow/tfjs-backend-webgpu');
  await tf.setBackend('webgpu');
  await tf.ready();

  const backend = await vireo.getBackend('webgpu');
  const info = backend.info();
  const raw = [];
  for (const which of o.models) await benchModel(vireo, tf, which, o, raw);
  const rows = raw.map((r) => {
    const row = {
      ...r,
      vireoImagesPerS: (1000 * r.batch) / r.vireoMs,
      tfjsImagesPerS: (1000 * r.batch) / r.tfjsMs,
      vireoGflops: r.flops / r.vireoMs / 1e6,
      tfjsGflops: r.flops / r.tfjsMs / 1e6,
      speedup: r.tfjsMs / r.vireoMs,
    };
    return { ...row, target: o.smoke ? null : target(row) };
  });
  const result = {
    adapter: info.adapter,
    swiftshader: /swiftshader/i.test(JSON.stringify(info.adapter ?? {})),
    smoke: o.smoke,
    warmup: o.warmup,
    runs: o.runs,
    submitsAfterRun: backend.queue?.submits ?? null,
    rows,
  };
  if (o.out) writeJson(o.out, result);
  if (o.json) console.log(JSON.stringify(result, null, 2));
  else {
    const a = info.adapter ?? {};
    console.log(`adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ')}`);
    if (result.swiftshader) console.log('SwiftShader (CPU): these times say nothing about GPU speed.');
    for (const r of rows) {
      console.log(
        `${r.model.padEnd(9)} ${r.what.padEnd(10)} b${String(r.batch).padEnd(3)}  ` +
          `vireo ${r.vireoMs.toFixed(2)} ms ${r.vireoImagesPerS.toFixed(0)} img/s ${r.vireoGflops.toFixed(0)} GFLOP/s  |  ` +
          `tfjs ${r.tfjsMs.toFixed(2)} ms ${r.tfjsImagesPerS.toFixed(0)} img/s ${r.tfjsGflops.toFixed(0)} GFLOP/s  |  ` +
          `vireo ${r.speedup.toFixed(2)}× ${r.target ? `(${r.target.want}: ${r.target.met ? 'met' : 'NOT met'})` : ''}`,
      );
    }
    if (o.out) console.log(`written: ${o.out}`);
  }
  await vireo.disposeBackend('webgpu');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
