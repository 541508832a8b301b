// WebGPU benchmark: the reference CNN (three 3×3 convolutions 64/128/256 with max-pooling, three dense layers,
// 32×32×3 input) forward at batch 1 and 32 and one SGD training step at batch 32, on vireo's webgpu backend
// and on @tensorflow/tfjs-backend-webgpu, in one process on one adapter. Each timed run ends with the output
// read back to the host (what a caller waits for). Median of timed runs after warm-up.
//
// Run it bundled (tfjs-core's gradient registrations are extensionless ESM that Node cannot import directly):
//
//   npm run build
//   npx esbuild bench/gpu.mjs --bundle --platform=node --format=cjs --external:webgpu --external:sharp \
//     --outfile=/tmp/gpu-bench.cjs
//
// SwiftShader (a CPU Vulkan) runs it correctly but slowly: a smoke test only (`--smoke`, a few minutes), never
// quote its times. On a GPU machine without Node or network (the workplace's GPU instructions describe
// prepare.sh and run.sh, which pack Node, Dawn and the Vulkan loader into .gpu/):
//
//   <gpu tools>/prepare.sh /tmp/gpu-bench.cjs
//   # on the GPU machine, from the project root, with .gpu/ copied along:
//   bash .gpu/run.sh gpu-bench.cjs --json
//
// Written as a script with no top-level await so it bundles as CommonJS; Dawn's `webgpu` package is loaded
// before anything that registers a WebGPU backend, and both libraries share its navigator.gpu.

import { referenceCnn } from './common.mjs';

const ISSUE_FLOPS_PER_IMAGE = 89.6e6;

function parse(argv) {
  const o = { smoke: false, json: false, warmup: 5, runs: 20, batches: [1, 32], train: true };
  for (const a of argv) {
    if (a === '--smoke') Object.assign(o, { smoke: true, warmup: 1, runs: 2, batches: [1], train: true });
    else if (a === '--json') o.json = true;
    else if (a === '--no-train') o.train = false;
    else throw new Error(`bench/gpu.mjs: unknown argument ${a} (use --smoke, --json, --no-train)`);
  }
  return o;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeIt(fn, warmup, runs) {
  for (let i = 0; i < warmup; i++) await fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
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

function randomArray(n, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 0.2;
  }
  return a;
}

/** The same network in tfjs ops, NHWC (tfjs's native layout), its own random weights. */
function tfjsCnn(tf) {
  const v = (shape, seed) =>
    tf.variable(
      tf.tensor(
        randomArray(
          shape.reduce((a, b) => a * b, 1),
          seed,
        ),
        shape,
      ),
    );
  const w = {
    c1: v([3, 3, 3, 64], 1),
    b1: v([64], 2),
    c2: v([3, 3, 64, 128], 3),
    b2: v([128], 4),
    c3: v([3, 3, 128, 256], 5),
    b3: v([256], 6),
    f1: v([4096, 1024], 7),
    g1: v([1024], 8),
    f2: v([1024, 512], 9),
    g2: v([512], 10),
    f3: v([512, 10], 11),
    g3: v([10], 12),
  };
  const forward = (x) => {
    let y = tf.relu(tf.add(tf.conv2d(x, w.c1, 1, 'same'), w.b1));
    y = tf.maxPool(y, 2, 2, 'valid');
    y = tf.maxPool(tf.relu(tf.add(tf.conv2d(y, w.c2, 1, 'same'), w.b2)), 2, 2, 'valid');
    y = tf.maxPool(tf.relu(tf.add(tf.conv2d(y, w.c3, 1, 'same'), w.b3)), 2, 2, 'valid');
    y = tf.reshape(y, [x.shape[0], 4096]);
    y = tf.relu(tf.add(tf.matMul(y, w.f1), w.g1));
    y = tf.relu(tf.add(tf.matMul(y, w.f2), w.g2));
    return tf.add(tf.matMul(y, w.f3), w.g3);
  };
  return { forward, vars: Object.values(w) };
}

async function main() {
  const o = parse(process.argv.slice(2));
  await setupNavigator();
  const vireo = await import('../dist/index.js');
  const tf = await import('@tensorflow/tfjs-core');
  // Gradients are registered by the union package; tfjs-core alone has none (training needs them).
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  await import('@tensorflow/tfjs-backend-webgpu');
  await tf.setBackend('webgpu');
  await tf.ready();

  const backend = await vireo.getBackend('webgpu');
  const info = backend.info();
  const rows = [];
  const net = referenceCnn(vireo.nn);
  await net.to('webgpu');
  net.eval();
  const model = tfjsCnn(tf);

  for (const batch of o.batches) {
    const x = randomArray(batch * 3 * 32 * 32, 99);
    const xv = new vireo.Tensor(x, [batch, 3, 32, 32]);
    const plan = await net.plan([batch, 3, 32, 32]);
    const flops = plan.totalFlops;
    const vireoMs = await timeIt(async () => (await net.forward(xv)).data(), o.warmup, o.runs);
    const xt = tf.tensor(x, [batch, 32, 32, 3]);
    const tfjsMs = await timeIt(
      async () => {
        const y = tf.tidy(() => model.forward(xt));
        await y.data();
        y.dispose();
      },
      o.warmup,
      o.runs,
    );
    xt.dispose();
    rows.push({ what: 'forward', batch, flops, vireoMs, tfjsMs });
  }

  if (o.train) {
    const batch = o.smoke ? 2 : 32;
    const x = randomArray(batch * 3 * 32 * 32, 7);
    const labels = Array.from({ length: batch }, (_, i) => i % 10);
    net.train();
    const criterion = new vireo.nn.CrossEntropyLoss();
    const sgd = new vireo.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    const xv = new vireo.Tensor(x, [batch, 3, 32, 32]);
    const yv = vireo.tensor(labels);
    const vireoMs = await timeIt(
      async () => {
        sgd.zeroGrad();
        const loss = criterion.forward(await net.forward(xv), yv);
        await loss.backward();
        sgd.step();
        await loss.data();
      },
      o.warmup,
      o.runs,
    );
    await sgd.disposeAsync();
    const opt = tf.train.momentum(0.01, 0.9);
    const xt = tf.tensor(x, [batch, 32, 32, 3]);
    const yt = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
    const tfjsMs = await timeIt(
      async () => {
        const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(yt, model.forward(xt)), true, model.vars);
        await loss.data();
        loss.dispose();
      },
      o.warmup,
      o.runs,
    );
    rows.push({ what: 'train step', batch, flops: 3 * ISSUE_FLOPS_PER_IMAGE * batch, vireoMs, tfjsMs });
  }

  const result = {
    adapter: info.adapter,
    swiftshader: /swiftshader/i.test(JSON.stringify(info.adapter ?? {})),
    smoke: o.smoke,
    rows: rows.map((r) => ({
      ...r,
      vireoGflops: r.flops / r.vireoMs / 1e6,
      tfjsGflops: r.flops / r.tfjsMs / 1e6,
      vireoOverTfjs: r.tfjsMs / r.vireoMs,
    })),
  };
  if (o.json) console.log(JSON.stringify(result, null, 2));
  else {
    const a = info.adapter ?? {};
    console.log(`adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ')}`);
    if (result.swiftshader) console.log('SwiftShader (CPU): these times say nothing about GPU speed.');
    for (const r of result.rows) {
      console.log(
        `${r.what.padEnd(11)} batch ${String(r.batch).padStart(2)}  vireo ${r.vireoMs.toFixed(2)} ms (${r.vireoGflops.toFixed(1)} GFLOP/s)  ` +
          `tfjs-webgpu ${r.tfjsMs.toFixed(2)} ms (${r.tfjsGflops.toFixed(1)} GFLOP/s)  vireo speed ${r.vireoOverTfjs.toFixed(2)}×`,
      );
    }
  }
  await vireo.disposeBackend('webgpu');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
