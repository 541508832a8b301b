// `npm run bench`: the reference CNN (the classic CIFAR-10 network) forward at batch 1 and 32 on every wasm build this engine
// runs and on @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD, one thread), in one run; a per-layer table for
// the best build; and this machine's WebAssembly SIMD peak from a register-only multiply-add loop
// (bench/peak.ts), so every figure can be read as a fraction of what the FP units can do.
// Imports the package entry (built dist/), like any user would. Median of timed runs after warm-up.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { UsageError, f1, f2, median, parseBenchArgs, referenceCnn, runIfMain, table, writeJson } from './common.mjs';

export { UsageError };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** FLOPs per image of the reference CNN as vireo's design targets state it; Plan.totalFlops is checked against it. */
const ISSUE_FLOPS_PER_IMAGE = 89.6e6;
const BATCHES = [1, 32];

export const usage = `usage: vireo bench [--quick] [--json] [--out FILE] [--no-peer] [--builds LIST]

Runs the reference CNN (the classic CIFAR-10 network) forward at batch 1 and 32 on each wasm build and on
@tensorflow/tfjs-backend-wasm (SIMD, 1 thread), a per-layer table, and the machine's wasm SIMD peak.

  --quick          fewer repetitions (a smoke run; figures are noisier)
  --json           print the JSON result instead of tables
  --out FILE       where to write the JSON (default bench/results/latest.json)
  --no-peer        skip tfjs-backend-wasm
  --builds LIST    comma-separated wasm builds to run (default: relaxed,simd,scalar)
`;

export const parseArgs = (argv) => parseBenchArgs(argv, join(root, 'bench', 'results', 'latest.json'));

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// ---------------------------------------------------------------------------------------------- peak

function compilePeak() {
  const src = join(root, 'bench', 'peak.ts');
  const out = join(root, 'build', 'peak.wasm');
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dirname(out), { recursive: true });
    const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
    const args = [asc, src, '--runtime', 'stub', '-O3', '--noAssert', '--enable', 'simd', '--enable', 'relaxed-simd', '-o', out];
    execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  }
  return readFileSync(out);
}

/** GFLOP/s of the register-only loops: SIMD mul+add, and relaxed-SIMD madd when this engine has it. */
async function measurePeak(quick, relaxedSupported) {
  const { instance } = await WebAssembly.instantiate(compilePeak(), { env: { abort: () => {} } });
  const e = instance.exports;
  const perIter = e.flops_per_iteration();
  const result = {};
  const kernels = { mulAdd: 'peak_f32x4_mul_add', relaxedMadd: 'peak_f32x4_relaxed_madd' };
  for (const [key, fn] of Object.entries(kernels)) {
    if (key === 'relaxedMadd' && !relaxedSupported) {
      result[key] = null;
      continue;
    }
    for (let i = 0; i < 20; i++) e[fn](20_000); // tier up before timing: V8 has no on-stack replacement for wasm
    const iterations = 2_000_000;
    const rates = [];
    for (let k = 0; k < (quick ? 3 : 7); k++) {
      const t0 = performance.now();
      e[fn](iterations);
      rates.push((iterations * perIter) / ((performance.now() - t0) * 1e6));
    }
    // Load from other processes can only slow a register-only loop down: the fastest sample is the estimate.
    result[key] = Math.max(...rates);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------- models

/**
 * The same network in tfjs-core ops (NHWC, the layout its wasm backend supports), with the same weights.
 * `threads` goes to setThreadsCount (bench/threads.mjs); the peer reports the count it really runs.
 */
export async function tfjsPeer(stateDict, threads = 1) {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  wasm.setWasmPaths(`${join(pkgDir, 'dist')}/`);
  wasm.setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialize');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threadsRun = wasm.getThreadsCount();
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;

  const t = (name) => stateDict[name];
  const fromTensor = (x, shape) => tf.tensor(x.dataSync(), shape ?? [...x.shape]);
  const w = {};
  for (const c of ['conv1', 'conv2', 'conv3']) {
    w[c] = tf.keep(tf.transpose(fromTensor(t(`${c}.weight`)), [2, 3, 1, 0])); // OIHW -> HWIO
    w[`${c}b`] = tf.keep(fromTensor(t(`${c}.bias`)));
  }
  // fc1 reads PyTorch's CHW flatten order; NHWC flattens as HWC, so permute its input columns once.
  w.fc1 = tf.keep(tf.reshape(tf.transpose(fromTensor(t('fc1.weight'), [1024, 256, 4, 4]), [2, 3, 1, 0]), [4096, 1024]));
  w.fc2 = tf.keep(tf.transpose(fromTensor(t('fc2.weight'))));
  w.fc3 = tf.keep(tf.transpose(fromTensor(t('fc3.weight'))));
  for (const f of ['fc1', 'fc2', 'fc3']) w[`${f}b`] = tf.keep(fromTensor(t(`${f}.bias`)));

  const forward = (x) =>
    tf.tidy(() => {
      let h = x;
      for (const c of ['conv1', 'conv2', 'conv3']) {
        h = tf.fused.conv2d({ x: h, filter: w[c], strides: 1, pad: 'same', bias: w[`${c}b`], activation: 'relu' });
        h = tf.maxPool(h, 2, 2, 'valid');
      }
      h = tf.reshape(h, [h.shape[0], 4096]);
      h = tf.fused.matMul({ a: h, b: w.fc1, bias: w.fc1b, activation: 'relu' });
      h = tf.fused.matMul({ a: h, b: w.fc2, bias: w.fc2b, activation: 'relu' });
      return tf.fused.matMul({ a: h, b: w.fc3, bias: w.fc3b });
    });

  return {
    name: `@tensorflow/tfjs-backend-wasm ${version}`,
    simd,
    threads: threadsRun,
    /** NCHW input -> a runner that returns the logits. */
    prepare(nchw, shape) {
      const x = tf.keep(tf.transpose(tf.tensor(nchw, shape), [0, 2, 3, 1]));
      return () => {
        const y = forward(x);
        const v = y.dataSync();
        y.dispose();
        return v;
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------- output

const pct = (x) => (x == null ? '-' : `${(100 * x).toFixed(0)}%`);

// ---------------------------------------------------------------------------------------------- main

export async function main(argv = process.argv.slice(2), log = console.log) {
  const opts = parseArgs(argv);
  if (opts.help) {
    log(usage);
    return 0;
  }
  // Node 20 keeps relaxed SIMD behind a flag; the engine's loader turns it on the same way before compiling.
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {}
  const vireo = await import('vireo');
  const { nn, tensor, manualSeed, Random, backendInfo } = vireo;
  const info = await backendInfo();
  const features = info.features ?? {};
  const say = opts.json ? () => {} : log;
  const started = performance.now();

  // Per batch size, for all engines together (interleaved rounds): warm-up calls each, then rounds until both
  // minRuns and minMs are reached (maxRuns caps it).
  const reps = opts.quick
    ? { 1: { warmup: 3, minRuns: 5, maxRuns: 20, minMs: 500 }, 32: { warmup: 1, minRuns: 3, maxRuns: 5, minMs: 1000 } }
    : { 1: { warmup: 10, minRuns: 40, maxRuns: 400, minMs: 8000 }, 32: { warmup: 3, minRuns: 11, maxRuns: 40, minMs: 12000 } };

  manualSeed(2024);
  const net = referenceCnn(nn);
  net.eval();
  const stateDict = net.stateDict();
  const rng = new Random(7);
  const inputs = {};
  for (const b of BATCHES) {
    const x = new Float32Array(b * 3 * 32 * 32);
    for (let i = 0; i < x.length; i++) x[i] = rng.uniform(-1, 1);
    inputs[b] = x;
  }

  say(
    `vireo bench — reference CNN (classic CIFAR-10 network), ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, Node ${process.version}`,
  );
  say(`engine: default wasm build '${info.build}', features ${JSON.stringify(features)}`);

  // FLOPs from the engine's own count (reference backend: it has every kernel), checked against the design figure.
  await net.to('reference');
  const refPlan1 = await net.plan([1, 3, 32, 32]);
  const flopsPerImage = refPlan1.totalFlops;
  const flopsCheck = flopsPerImage / ISSUE_FLOPS_PER_IMAGE - 1;
  say(
    `FLOPs/image: ${(flopsPerImage / 1e6).toFixed(2)} M from Plan.totalFlops (the design target states ${ISSUE_FLOPS_PER_IMAGE / 1e6} M; ` +
      `${(100 * flopsCheck).toFixed(1)}% apart${Math.abs(flopsCheck) > 0.02 ? ' — CHECK' : ''})`,
  );
  const reference1 = (await net.forward(tensor(inputs[1], [1, 3, 32, 32]))).dataSync();

  say('measuring the wasm SIMD peak (bench/peak.ts, 12 v128 accumulators, no memory traffic)…');
  const peak = await measurePeak(opts.quick, features.relaxedSimd === true);
  say(`peak before: f32x4.mul+add ${f1(peak.mulAdd)} GFLOP/s, f32x4.relaxed_madd ${f1(peak.relaxedMadd)} GFLOP/s`);
  const peakFor = (build) => (build === 'relaxed' ? (peak.relaxedMadd ?? peak.mulAdd) : peak.mulAdd);

  const rows = [];
  const addRow = (row) => {
    rows.push(row);
    return row;
  };

  // Every engine for one batch size is timed in interleaved rounds (one call each per round), so a change in
  // machine load hits all of them alike and the ratios stay fair on a shared machine.
  let peer = null;
  if (opts.peer) {
    try {
      peer = await tfjsPeer(stateDict);
    } catch (err) {
      say(`peer failed: ${err?.message ?? err}`);
      addRow({ engine: 'tfjs-wasm', build: '-', batch: 0, status: 'error', error: String(err?.message ?? err) });
    }
  }
  const runnable = opts.builds.filter(
    (b) => b === 'scalar' || (b === 'simd' && features.simd) || (b === 'relaxed' && features.relaxedSimd),
  );
  for (const build of opts.builds.filter((b) => !runnable.includes(b))) {
    for (const b of BATCHES)
      addRow({ engine: 'vireo', build, batch: b, status: 'unsupported', error: 'this engine does not validate it' });
  }
  // One model per build (same weights), so every build keeps its plans while the rounds alternate.
  const nets = {};
  for (const build of runnable) {
    const m = referenceCnn(nn);
    m.loadStateDict(stateDict);
    m.eval();
    nets[build] = m;
  }

  const peerRows = {};
  for (const b of BATCHES) {
    const shape = [b, 3, 32, 32];
    const contenders = [];
    if (peer) {
      const run = peer.prepare(inputs[b], shape);
      const row = { engine: 'tfjs-wasm', build: `xnnpack${peer.simd ? '-simd' : ''}-${peer.threads}t`, batch: b };
      try {
        row.output = run();
        contenders.push({ row, run });
      } catch (err) {
        Object.assign(row, { status: 'error', error: String(err?.message ?? err) });
      }
      peerRows[b] = row;
    }
    for (const build of runnable) {
      const row = { engine: 'vireo', build, batch: b };
      try {
        const net = nets[build];
        await net.to('wasm', { build, threads: 1 }); // one thread, as the peer: bench/threads.mjs has the thread rows
        const plan = await net.plan(shape);
        const x = tensor(inputs[b], shape);
        const run = async () => (await net.forward(x)).data();
        row.output = await run();
        row.planFlops = plan.totalFlops;
        contenders.push({ row, run });
      } catch (err) {
        const message = String(err?.message ?? err);
        Object.assign(row, { status: /has no .* kernel/.test(message) ? 'missing kernel' : 'error', error: message });
      }
      addRow(row);
    }
    if (peerRows[b]) rows.splice(rows.length - runnable.length, 0, peerRows[b]);

    const { warmup, minRuns, maxRuns, minMs } = reps[b];
    for (const c of contenders) for (let i = 0; i < warmup; i++) await c.run();
    const times = contenders.map(() => []);
    const started = performance.now();
    for (let round = 0; round < maxRuns && (round < minRuns || performance.now() - started < minMs); round++) {
      for (const [i, c] of contenders.entries()) {
        const t0 = performance.now();
        await c.run();
        times[i].push(performance.now() - t0);
      }
    }
    for (const [i, { row }] of contenders.entries()) {
      Object.assign(row, { status: 'ok', ms: median(times[i]), minMs: Math.min(...times[i]), runs: times[i].length });
      if (b === 1) row.check = maxAbsDiff(row.output, reference1);
      else if (row.engine === 'vireo' && peerRows[b]?.output) row.check = maxAbsDiff(row.output, peerRows[b].output);
    }
  }
  for (const net of Object.values(nets)) net.releasePlans();

  // The peak again, after the timed runs: the better of the two is this machine's peak.
  const peakAfter = await measurePeak(opts.quick, features.relaxedSimd === true);
  for (const key of Object.keys(peak)) if (peakAfter[key] != null) peak[key] = Math.max(peak[key], peakAfter[key]);
  say(
    `peak (best of before and after): f32x4.mul+add ${f1(peak.mulAdd)} GFLOP/s, f32x4.relaxed_madd ${f1(peak.relaxedMadd)} GFLOP/s`,
  );

  for (const r of rows) {
    if (r.status !== 'ok') continue;
    r.imagesPerSecond = (1000 * r.batch) / r.ms;
    r.gflops = (flopsPerImage * r.batch) / (r.ms * 1e6);
    r.fractionOfPeak = r.gflops / peakFor(r.engine === 'vireo' ? r.build : 'simd');
    const p = peerRows[r.batch];
    if (r.engine === 'vireo' && p?.status === 'ok') r.ratioToPeer = p.ms / r.ms;
  }

  say('');
  say(
    `forward, ms per batch (median), ${(flopsPerImage / 1e6).toFixed(1)} MFLOP/image; ratio = peer ms / vireo ms (> 1: vireo faster)`,
  );
  say(
    table(
      ['engine', 'build', 'batch', 'ms/batch', 'images/s', 'GFLOP/s', '% peak', 'vs peer', 'runs', 'max|Δ|', 'status'],
      rows.map((r) =>
        r.status === 'ok'
          ? [
              r.engine,
              r.build,
              r.batch,
              f2(r.ms),
              f1(r.imagesPerSecond),
              f1(r.gflops),
              pct(r.fractionOfPeak),
              r.ratioToPeer ? `${r.ratioToPeer.toFixed(2)}×` : '-',
              r.runs,
              r.check == null ? '-' : r.check.toExponential(1),
              'ok',
            ]
          : [r.engine, r.build, r.batch || '-', '-', '-', '-', '-', '-', '-', '-', `${r.status}: ${r.error}`],
      ),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  );
  say('max|Δ|: batch 1 against the reference backend, batch 32 against the peer (same weights and input).');

  // Per-layer table for the fastest build at batch 32 (or the reference backend when no wasm build ran).
  const best = rows.filter((r) => r.engine === 'vireo' && r.batch === 32 && r.status === 'ok').sort((a, b) => a.ms - b.ms)[0];
  let layers = null;
  {
    const target = best ? { backend: 'wasm', build: best.build, batch: 32 } : { backend: 'reference', build: null, batch: 1 };
    const runs = opts.quick ? 3 : 15;
    try {
      await net.to(target.backend, target.build ? { build: target.build } : {});
      const plan = await net.plan([target.batch, 3, 32, 32]);
      const x = [inputs[target.batch]];
      for (let i = 0; i < 2; i++) plan.runProfiled(x);
      const acc = [];
      for (let k = 0; k < runs; k++) {
        plan.runProfiled(x).layers.forEach((l, i) => {
          acc[i] ??= { ...l, samples: [] };
          acc[i].samples.push(l.ms);
        });
      }
      // Mean as asked for, and the median, which a burst of load from other processes moves less; rates use the median.
      for (const l of acc) {
        l.ms = l.samples.reduce((a, b) => a + b, 0) / l.samples.length;
        l.medianMs = median(l.samples);
      }
      const total = acc.reduce((s, l) => s + l.medianMs, 0);
      const totalMean = acc.reduce((s, l) => s + l.ms, 0);
      const peakGflops = target.build ? peakFor(target.build) : peak.mulAdd;
      layers = {
        backend: target.backend,
        build: target.build,
        batch: target.batch,
        runs,
        totalMedianMs: total,
        totalMeanMs: totalMean,
        rows: acc.map((l) => ({
          name: l.name,
          op: l.op,
          outputShape: l.outputShape,
          meanMs: l.ms,
          medianMs: l.medianMs,
          mflop: l.flops / 1e6,
          gflops: l.flops / (l.medianMs * 1e6),
          fractionOfPeak: l.flops / (l.medianMs * 1e6) / peakGflops,
          share: l.medianMs / total,
        })),
      };
      say('');
      say(
        `per layer: ${target.backend}${target.build ? ` ${target.build}` : ''} at batch ${target.batch}, ${runs} profiled runs (mean and median ms; rates from the median)` +
          `${best ? '' : ' (no wasm build ran at batch 32)'}; % peak against ${f1(peakGflops)} GFLOP/s`,
      );
      say(
        table(
          ['layer', 'op', 'output', 'MFLOP', 'mean ms', 'median ms', 'GFLOP/s', '% peak', '% time'],
          layers.rows.map((l) => [
            l.name,
            l.op,
            `[${l.outputShape.join(',')}]`,
            f1(l.mflop),
            f2(l.meanMs),
            f2(l.medianMs),
            f1(l.gflops),
            pct(l.fractionOfPeak),
            pct(l.share),
          ]),
          ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
        ),
      );
      say(
        `sum of layers: ${f2(total)} ms (medians), ${f2(totalMean)} ms (means)` +
          `${best ? `; whole forward ${f2(best.ms)} ms (median, table above)` : ''}`,
      );
      net.releasePlans();
    } catch (err) {
      say(`per-layer table failed: ${err?.message ?? err}`);
      layers = { error: String(err?.message ?? err) };
    }
  }

  // vireo's inference speed targets (informational; the bench never fails on them).
  const ok = (r) => r?.status === 'ok';
  const vireoBest = (b) => rows.filter((r) => r.engine === 'vireo' && r.batch === b && ok(r)).sort((x, y) => x.ms - y.ms)[0];
  const relaxed32 = rows.find((r) => r.engine === 'vireo' && r.build === 'relaxed' && r.batch === 32 && ok(r));
  const targets = [
    { target: 'batch 32 ≥ 1.3× tfjs-backend-wasm', value: vireoBest(32)?.ratioToPeer ?? null, need: 1.3, unit: '×' },
    { target: 'batch 1 ≥ 1.2× tfjs-backend-wasm', value: vireoBest(1)?.ratioToPeer ?? null, need: 1.2, unit: '×' },
    { target: 'relaxed build ≥ 48 GFLOP/s at batch 32', value: relaxed32?.gflops ?? null, need: 48, unit: ' GFLOP/s' },
  ].map((t) => ({ ...t, met: t.value == null ? null : t.value >= t.need }));
  say('');
  say('inference speed targets:');
  for (const t of targets) {
    say(
      `  ${t.met == null ? 'n/a ' : t.met ? 'met ' : 'MISS'}  ${t.target}: ${t.value == null ? 'not measured' : `${t.value.toFixed(2)}${t.unit}`}`,
    );
  }

  const result = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? null, cores: cpus().length, node: process.version, v8: process.versions.v8 },
    vireo: { defaultBuild: info.build, features },
    peer: peer ? { name: peer.name, simd: peer.simd, threads: peer.threads } : null,
    flopsPerImage,
    issueFlopsPerImage: ISSUE_FLOPS_PER_IMAGE,
    peakGflops: peak,
    rows: rows.map(({ output, ...r }) => r),
    layers,
    targets,
    seconds: (performance.now() - started) / 1000,
  };
  writeJson(opts.out, result);
  say('');
  say(`wrote ${opts.out} (${result.seconds.toFixed(0)} s)`);
  if (opts.json) log(JSON.stringify(result, null, 2));
  return 0;
}

runIfMain(import.meta.url, main, 'vireo bench', usage);
