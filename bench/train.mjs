// Training benchmark: one step of the reference CNN at batch 32 — forward, CrossEntropyLoss,
// backward, SGD momentum update — on every wasm build vireo runs, and in the same run on PyTorch's CPU build
// with one thread (bench/train_torch.py, when /usr/bin/python3 has torch) and on @tensorflow/tfjs-backend-cpu
// (tf.variableGrads through optimizer.minimize). It also tries to train the model on
// @tensorflow/tfjs-backend-wasm and prints the error that backend raises. Every engine starts from the same
// weights, input and labels, so the first step's loss is a cross-check. Then a per-kernel table of one
// profiled step of the best build (TrainPlan.profileStep) plus the optimizer's update.
// Imports the package entry (built dist/), like bench/run.mjs. Median of timed steps after warm-up.
// Run: node bench/train.mjs [--quick] [--json] [--builds relaxed,simd] [--no-peer]   (npm run bench:train)
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { BUILDS, UsageError, f1, f2, median, parseBenchArgs, referenceCnn, runIfMain, table, writeJson } from './common.mjs';

export { UsageError };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const BATCH = 32;
/** tfjs-backend-cpu takes about a minute per batch-32 step here (its conv backprop is plain JS loops): it is
 * timed at a smaller batch and compared per image; its first loss is checked against vireo's on those images. */
const TFJS_CPU_BATCH = 4;
const LR = 0.01;
const MOMENTUM = 0.9;
const PYTHON = '/usr/bin/python3';

export const usage = `usage: node bench/train.mjs [--quick] [--json] [--out FILE] [--no-peer] [--builds LIST]

One training step of the reference CNN at batch ${BATCH} (forward, cross-entropy, backward, SGD momentum)
on each wasm build, PyTorch (CPU, 1 thread) and tfjs-backend-cpu; tfjs-backend-wasm's error; per-kernel table.

  --quick          fewer steps (a smoke run)
  --json           print the JSON result instead of tables
  --out FILE       where to write the JSON (default bench/results/train-latest.json)
  --no-peer        skip PyTorch and tfjs
  --builds LIST    comma-separated wasm builds (default: ${BUILDS.join(',')})
`;

export const parseArgs = (argv) => parseBenchArgs(argv, join(root, 'bench', 'results', 'train-latest.json'));

// ---------------------------------------------------------------------------------------------- PyTorch

/**
 * Writes weights, input and labels as raw float32 files for bench/train_torch.py and starts it in interleaved
 * mode: it builds the model, runs its first step (loss) and the warm-up, then times one step per 'step' line.
 */
async function startTorch(stateDict, x, labels, warmup) {
  const dir = mkdtempSync(join(tmpdir(), 'vireo-train-bench-'));
  const tensors = Object.entries(stateDict).map(([name, t], i) => {
    const file = `t${i}.f32`;
    writeFileSync(join(dir, file), t.dataSync());
    return { name, file, shape: [...t.shape] };
  });
  writeFileSync(join(dir, 'x.f32'), x);
  writeFileSync(join(dir, 'y.f32'), labels);
  const manifest = {
    tensors,
    input: { file: 'x.f32', shape: [BATCH, 3, 32, 32] },
    labels: { file: 'y.f32', shape: [BATCH] },
    lr: LR,
    momentum: MOMENTUM,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const child = spawn(PYTHON, [join(root, 'bench', 'train_torch.py'), dir, String(warmup), '0'], {
    env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${PYTHON} bench/train_torch.py exited: ${stderr.trim().split('\n').pop() ?? ''}`);
    return JSON.parse(value);
  };
  const close = () => {
    if (child.exitCode === null) child.stdin.end('quit\n');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const info = await next();
    return {
      info,
      async step() {
        child.stdin.write('step\n');
        return (await next()).ms;
      },
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------- tfjs

/**
 * tfjs-core's Node entry (dist/tf-core.node.js) carries no gradient definitions: they are registered by
 * importing '@tensorflow/tfjs-core/dist/register_all_gradients', an ES module with extensionless imports that
 * Node cannot load. So core (its ES build), the gradients and both backends are bundled once with esbuild into
 * build/tfjs-train.mjs, one tfjs-core instance as a bundler-using app would get it, and imported from there.
 */
async function loadTfjs() {
  const out = join(root, 'build', 'tfjs-train.mjs');
  const esbuild = await import('esbuild');
  await esbuild.build({
    stdin: {
      contents: [
        "import * as tf from '@tensorflow/tfjs-core';",
        "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
        "import '@tensorflow/tfjs-backend-cpu';",
        "import * as tfwasm from '@tensorflow/tfjs-backend-wasm';",
        'export { tf, tfwasm };',
      ].join('\n'),
      resolveDir: root,
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    // The bundle's CommonJS parts call require('util'), require('fs'): give the ES module a require.
    banner: {
      js: [
        "import { createRequire as __vireoCreateRequire } from 'node:module';",
        "import { dirname as __vireoDirname } from 'node:path';",
        "import { fileURLToPath as __vireoToPath } from 'node:url';",
        'const require = __vireoCreateRequire(import.meta.url);',
        'const __filename = __vireoToPath(import.meta.url);',
        'const __dirname = __vireoDirname(__filename);',
      ].join(' '),
    },
    logLevel: 'error',
    outfile: out,
  });
  return import(pathToFileURL(out).href);
}

/** The reference CNN in tfjs-core ops (NHWC), its weights as tf.Variables, and one SGD momentum step. */
function tfjsModel(tf, stateDict, x, labels, batch = BATCH) {
  const t = (name) => stateDict[name];
  const fromTensor = (v, shape) => tf.tensor(v.dataSync(), shape ?? [...v.shape]);
  const vars = {};
  for (const c of ['conv1', 'conv2', 'conv3']) {
    vars[c] = tf.variable(tf.transpose(fromTensor(t(`${c}.weight`)), [2, 3, 1, 0])); // OIHW -> HWIO
    vars[`${c}b`] = tf.variable(fromTensor(t(`${c}.bias`)));
  }
  // fc1 reads PyTorch's CHW flatten order; NHWC flattens as HWC, so its input columns are permuted once.
  vars.fc1 = tf.variable(tf.reshape(tf.transpose(fromTensor(t('fc1.weight'), [1024, 256, 4, 4]), [2, 3, 1, 0]), [4096, 1024]));
  vars.fc2 = tf.variable(tf.transpose(fromTensor(t('fc2.weight'))));
  vars.fc3 = tf.variable(tf.transpose(fromTensor(t('fc3.weight'))));
  for (const f of ['fc1', 'fc2', 'fc3']) vars[`${f}b`] = tf.variable(fromTensor(t(`${f}.bias`)));
  const xs = tf.keep(tf.transpose(tf.tensor(x.subarray(0, batch * 3 * 32 * 32), [batch, 3, 32, 32]), [0, 2, 3, 1]));
  const ys = tf.keep(tf.oneHot(tf.tensor1d(Int32Array.from(labels.subarray(0, batch)), 'int32'), 10));
  const loss = () => {
    let h = xs;
    for (const c of ['conv1', 'conv2', 'conv3']) {
      h = tf.relu(tf.add(tf.conv2d(h, vars[c], 1, 'same'), vars[`${c}b`]));
      h = tf.maxPool(h, 2, 2, 'valid');
    }
    h = tf.reshape(h, [batch, 4096]);
    h = tf.relu(tf.add(tf.matMul(h, vars.fc1), vars.fc1b));
    h = tf.relu(tf.add(tf.matMul(h, vars.fc2), vars.fc2b));
    const logits = tf.add(tf.matMul(h, vars.fc3), vars.fc3b);
    return tf.losses.softmaxCrossEntropy(ys, logits);
  };
  const optimizer = tf.train.momentum(LR, MOMENTUM);
  const varList = Object.values(vars);
  return {
    step() {
      const cost = optimizer.minimize(loss, true, varList);
      const v = cost.dataSync()[0];
      cost.dispose();
      return v;
    },
    dispose() {
      for (const v of varList) v.dispose();
      xs.dispose();
      ys.dispose();
      optimizer.dispose();
    },
  };
}

async function tfjsCpu(tf, stateDict, x, labels, batch, warmup, steps) {
  if (!(await tf.setBackend('cpu'))) throw new Error('tfjs: the cpu backend did not initialize');
  await tf.ready();
  const version = require('@tensorflow/tfjs-backend-cpu/package.json').version;
  const model = tfjsModel(tf, stateDict, x, labels, batch);
  try {
    const firstLoss = model.step();
    for (let i = 0; i < warmup; i++) model.step();
    const times = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      model.step();
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    return {
      engine: 'tfjs-cpu',
      version,
      batch,
      firstLoss,
      ms,
      msPerImage: ms / batch,
      minMs: Math.min(...times),
      runs: times.length,
    };
  } finally {
    model.dispose();
  }
}

/** Tries one training step on tfjs-backend-wasm; returns the error it raises (or the step's loss). */
async function tfjsWasmAttempt(tf, wasm, stateDict, x, labels) {
  const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  wasm.setWasmPaths(`${join(pkgDir, 'dist')}/`);
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialize');
  await tf.ready();
  const version = require('@tensorflow/tfjs-backend-wasm/package.json').version;
  const model = tfjsModel(tf, stateDict, x, labels);
  try {
    const loss = model.step();
    return { engine: 'tfjs-wasm', version, trains: true, firstLoss: loss };
  } catch (err) {
    return { engine: 'tfjs-wasm', version, trains: false, error: String(err?.message ?? err).split('\n')[0] };
  } finally {
    model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------- main

export async function main(argv = process.argv.slice(2), log = console.log) {
  const opts = parseArgs(argv);
  if (opts.help) {
    log(usage);
    return 0;
  }
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {}
  const started = performance.now();
  const vireo = await import('vireo');
  const { nn, optim, tensor, manualSeed, Random, backendInfo } = vireo;
  const info = await backendInfo();
  const features = info.features ?? {};
  const say = opts.json ? () => {} : log;
  const reps = opts.quick
    ? { warmup: 1, steps: 3, tfjsSteps: 1, profileRuns: 2 }
    : { warmup: 2, steps: 9, tfjsSteps: 2, profileRuns: 7 };

  manualSeed(2024);
  const reference = referenceCnn(nn);
  const stateDict = reference.stateDict();
  const rng = new Random(7);
  const x = new Float32Array(BATCH * 3 * 32 * 32);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform(-1, 1);
  const labels = new Float32Array(BATCH);
  for (let i = 0; i < BATCH; i++) labels[i] = Math.floor(rng.uniform(0, 10)) % 10;
  const shape = [BATCH, 3, 32, 32];
  const xT = tensor(x, shape);
  const yT = tensor(labels, [BATCH]);

  say(
    `vireo training bench — reference CNN, batch ${BATCH}, ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, Node ${process.version}`,
  );
  say(`step = forward + CrossEntropyLoss + backward + SGD(lr ${LR}, momentum ${MOMENTUM}); one thread everywhere`);

  const rows = [];
  const runnable = opts.builds.filter(
    (b) => b === 'scalar' || (b === 'simd' && features.simd) || (b === 'relaxed' && features.relaxedSimd),
  );
  for (const build of opts.builds.filter((b) => !runnable.includes(b)))
    rows.push({ engine: 'vireo', build, status: 'unsupported', error: 'this engine does not validate it' });

  // PyTorch in a child process that steps on request, so its timed steps interleave with vireo's.
  let torch = null;
  let torchProc = null;
  if (opts.peer) {
    try {
      execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
      try {
        torchProc = await startTorch(stateDict, x, labels, reps.warmup);
        torch = { ...torchProc.info };
      } catch (err) {
        torch = { engine: 'pytorch', status: 'error', error: String(err?.message ?? err) };
      }
    } catch {
      torch = { engine: 'pytorch', status: 'skipped', error: `${PYTHON} has no torch` };
    }
  }

  // One model + optimizer per build, all from the same weights; steps interleaved across builds and PyTorch
  // (one step each per round) so a change in machine load hits every engine alike.
  const contenders = [];
  for (const build of runnable) {
    const net = referenceCnn(nn);
    net.loadStateDict(stateDict);
    net.train();
    await net.to('wasm', { build, threads: 1 }); // one thread, as PyTorch here: bench/threads.mjs has the thread rows
    const opt = new optim.SGD(net.parameters(), { lr: LR, momentum: MOMENTUM });
    await opt.to(await net.currentBackend());
    const criterion = new nn.CrossEntropyLoss();
    const step = async () => {
      opt.zeroGrad();
      const loss = criterion.forward(await net.forward(xT), yT);
      await loss.backward();
      opt.step();
      return loss.dataSync()[0];
    };
    const row = { engine: 'vireo', build };
    try {
      row.firstLoss = await step();
      contenders.push({ row, step, net, opt });
    } catch (err) {
      Object.assign(row, { status: 'error', error: String(err?.message ?? err) });
    }
    rows.push(row);
  }
  for (const c of contenders) for (let i = 0; i < reps.warmup; i++) await c.step();
  const times = contenders.map(() => []);
  const torchTimes = [];
  for (let round = 0; round < reps.steps; round++) {
    for (const [i, c] of contenders.entries()) {
      const t0 = performance.now();
      await c.step();
      times[i].push(performance.now() - t0);
    }
    if (torchProc) {
      try {
        torchTimes.push(await torchProc.step()); // timed inside Python (perf_counter around the step)
      } catch (err) {
        torch = { engine: 'pytorch', status: 'error', error: String(err?.message ?? err) };
        torchProc.close();
        torchProc = null;
      }
    }
  }
  torchProc?.close();
  if (torchProc && torchTimes.length)
    Object.assign(torch, { status: 'ok', ms: median(torchTimes), minMs: Math.min(...torchTimes), runs: torchTimes.length });
  for (const [i, { row }] of contenders.entries())
    Object.assign(row, { status: 'ok', ms: median(times[i]), minMs: Math.min(...times[i]), runs: times[i].length });

  // Per-kernel table of the best build: forward and backward kernels (profileStep), then the update.
  const best = contenders.filter((c) => c.row.status === 'ok').sort((a, b) => a.row.ms - b.row.ms)[0];
  let kernels = null;
  if (best) {
    const plan = await best.net.trainPlan(shape);
    const gradOut = new Float32Array(BATCH * 10);
    for (let i = 0; i < gradOut.length; i++) gradOut[i] = rng.uniform(-1, 1) / BATCH;
    // One unrecorded profiled step, then the median of each kernel over the profiled steps.
    const samples = [];
    const stepSamples = [];
    const optSamples = [];
    for (let k = 0; k <= reps.profileRuns; k++) {
      best.opt.zeroGrad();
      const t0 = performance.now();
      const { layers } = plan.profileStep([x], gradOut);
      const t1 = performance.now();
      best.opt.step();
      if (k === 0) continue;
      optSamples.push(performance.now() - t1);
      stepSamples.push(t1 - t0);
      layers.forEach((l, i) => {
        samples[i] ??= { name: l.name, op: l.op, outputShape: l.outputShape, flops: l.flops, times: [] };
        samples[i].times.push(l.ms);
      });
    }
    const acc = samples.map(({ times, ...l }) => ({ ...l, ms: median(times) }));
    const stepMs = median(stepSamples);
    const optMs = median(optSamples);
    const kernelMs = acc.reduce((s, l) => s + l.ms, 0);
    kernels = {
      build: best.row.build,
      runs: reps.profileRuns,
      rows: acc,
      kernelMs,
      forwardBackwardMs: stepMs,
      hostMs: Math.max(0, stepMs - kernelMs),
      optimizerMs: optMs,
    };
  }

  /** vireo's loss on the first `b` images with the initial weights (the cross-check for a smaller-batch peer). */
  const smallBatchLoss = async (b) => {
    reference.eval();
    const logits = await reference.forward(tensor(x.subarray(0, b * 3 * 32 * 32), [b, 3, 32, 32]));
    const loss = new nn.CrossEntropyLoss().forward(logits, tensor(labels.subarray(0, b), [b])).dataSync()[0];
    reference.releasePlans();
    return loss;
  };
  let tfCpu = null;
  let tfWasm = null;
  if (opts.peer) {
    const { tf, tfwasm } = await loadTfjs();
    try {
      tfCpu = { ...(await tfjsCpu(tf, stateDict, x, labels, TFJS_CPU_BATCH, opts.quick ? 0 : 1, reps.tfjsSteps)), status: 'ok' };
      tfCpu.vireoFirstLoss = await smallBatchLoss(TFJS_CPU_BATCH);
    } catch (err) {
      tfCpu = { engine: 'tfjs-cpu', status: 'error', error: String(err?.message ?? err) };
    }
    try {
      tfWasm = await tfjsWasmAttempt(tf, tfwasm, stateDict, x, labels);
    } catch (err) {
      tfWasm = { engine: 'tfjs-wasm', trains: false, error: `backend setup failed: ${err?.message ?? err}` };
    }
  }
  for (const c of contenders) {
    c.net.releasePlans();
    c.opt.dispose?.();
  }

  const all = [...rows, ...(torch ? [torch] : []), ...(tfCpu ? [tfCpu] : [])];
  for (const r of all) if (r.status === 'ok') r.imagesPerSecond = (1000 * (r.batch ?? BATCH)) / r.ms;
  for (const r of rows) {
    if (r.status !== 'ok') continue;
    if (torch?.status === 'ok') r.vsPytorch = torch.ms / r.ms;
    if (tfCpu?.status === 'ok') r.vsTfjsCpu = r.imagesPerSecond / tfCpu.imagesPerSecond;
  }

  say('');
  say(`training step, ms per step (median); vs X = vireo's images/s / X's images/s (> 1: vireo faster)`);
  say(
    table(
      ['engine', 'build', 'batch', 'ms/step', 'images/s', 'vs pytorch', 'vs tfjs-cpu', 'runs', 'first loss', 'status'],
      all.map((r) =>
        r.status === 'ok'
          ? [
              r.engine,
              r.build ?? r.version ?? '-',
              r.batch ?? BATCH,
              f1(r.ms),
              f1(r.imagesPerSecond),
              r.vsPytorch ? `${r.vsPytorch.toFixed(2)}×` : '-',
              r.vsTfjsCpu ? `${r.vsTfjsCpu.toFixed(2)}×` : '-',
              r.runs,
              r.firstLoss?.toFixed(5) ?? '-',
              'ok',
            ]
          : [r.engine, r.build ?? '-', r.batch ?? BATCH, '-', '-', '-', '-', '-', '-', `${r.status}: ${r.error}`],
      ),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  );
  if (tfCpu?.status === 'ok')
    say(
      `tfjs-cpu ran at batch ${tfCpu.batch} (a batch-32 step takes about a minute); its first loss ${tfCpu.firstLoss.toFixed(5)} vs vireo's on the same ${tfCpu.batch} images ${tfCpu.vireoFirstLoss.toFixed(5)}`,
    );
  if (torch?.status === 'ok') say(`pytorch ${torch.version}, torch.get_num_threads() = ${torch.threads}`);
  if (tfWasm) {
    say(
      tfWasm.trains
        ? `tfjs-backend-wasm ${tfWasm.version}: trained a step (loss ${tfWasm.firstLoss.toFixed(5)})`
        : `tfjs-backend-wasm ${tfWasm.version ?? ''} cannot train this model: ${tfWasm.error}`,
    );
  }

  if (kernels) {
    say('');
    say(
      `per kernel: vireo ${kernels.build}, batch ${BATCH}, median of ${kernels.runs} profiled steps (TrainPlan.profileStep + optimizer.step)`,
    );
    const total = kernels.forwardBackwardMs + kernels.optimizerMs;
    const krows = kernels.rows.map((l) => [
      l.name,
      l.op,
      `[${l.outputShape.join(',')}]`,
      f1(l.flops / 1e6),
      f2(l.ms),
      f1(l.flops / (l.ms * 1e6)),
      `${((100 * l.ms) / total).toFixed(0)}%`,
    ]);
    krows.push([
      '(host: input/output copies, bookkeeping)',
      '-',
      '-',
      '-',
      f2(kernels.hostMs),
      '-',
      `${((100 * kernels.hostMs) / total).toFixed(0)}%`,
    ]);
    krows.push([
      '(optimizer.step)',
      'sgd',
      '-',
      '-',
      f2(kernels.optimizerMs),
      '-',
      `${((100 * kernels.optimizerMs) / total).toFixed(0)}%`,
    ]);
    say(table(['kernel', 'op', 'output', 'MFLOP', 'ms', 'GFLOP/s', '% step'], krows, ['l', 'l', 'l', 'r', 'r', 'r', 'r']));
    // Totals per op family: where the time goes.
    const byOp = new Map();
    for (const l of kernels.rows) byOp.set(l.op, (byOp.get(l.op) ?? 0) + l.ms);
    say(
      `by op: ${[...byOp.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([op, ms]) => `${op} ${ms.toFixed(1)}`)
        .join(', ')} ms; total ${total.toFixed(1)} ms`,
    );
  }

  const bestRow = rows.filter((r) => r.status === 'ok').sort((a, b) => a.ms - b.ms)[0];
  const targets = [
    { target: `≥ 130 images/s at batch ${BATCH}`, value: bestRow?.imagesPerSecond ?? null, need: 130, unit: ' images/s' },
    { target: '≥ 1.3× PyTorch (CPU, 1 thread)', value: bestRow?.vsPytorch ?? null, need: 1.3, unit: '×' },
  ].map((t) => ({ ...t, met: t.value == null ? null : t.value >= t.need }));
  say('');
  say('training speed targets:');
  for (const t of targets)
    say(
      `  ${t.met == null ? 'n/a ' : t.met ? 'met ' : 'MISS'}  ${t.target}: ${t.value == null ? 'not measured' : `${t.value.toFixed(2)}${t.unit}`}`,
    );

  const result = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? null, cores: cpus().length, node: process.version },
    batch: BATCH,
    rows: all,
    tfjsWasm: tfWasm,
    kernels,
    targets,
    seconds: (performance.now() - started) / 1000,
  };
  writeJson(opts.out, result);
  say(`wrote ${opts.out} (${result.seconds.toFixed(0)} s)`);
  if (opts.json) log(JSON.stringify(result, null, 2));
  return 0;
}

runIfMain(import.meta.url, main, 'train bench', usage);
