// Data pipeline benchmark: images/s of the target preprocessing on CIFAR-sized 32x32 RGB
// input, resized to 224 and to 32 (Resize, RandomHorizontalFlip, RandomVerticalFlip, RandomRotation(20),
// ToTensor, Normalize), with vireo's DataLoader at 0, 1 and 2 workers, against the same pipeline
// written with @tensorflow/tfjs-core image ops (resizeBilinear with half-pixel centres, flipLeftRight,
// reverse, rotateWithOffset) on tfjs-backend-cpu and tfjs-backend-wasm, in the same run. tfjs runs
// per image (each sample draws its own flips and angle), on the main thread.
// Imports the built package (npm run build first).
// Run: node bench/data.mjs [--quick] [--stall] [--share] [--workers 0,1,2] [--sizes 224,32] [--modes released,kept] [--no-tfjs] [--prefetch 2] [--reuse] [--warmup E] [--epochs E] [--seconds S]
// (tfjs runs in a child process of the same run: see tfjsInChild)
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrossEntropyLoss, DataLoader, Random, datasets, fit, models, optim, transforms as T } from '../dist/index.js';
import { writeJson } from './common.mjs';

const quick = process.argv.includes('--quick');
const workersArg = process.argv.indexOf('--workers');
// Worker counts to measure (default 0, 1, 2; a many-core machine can pass e.g. --workers 0,1,2,4,8).
const workerCounts = workersArg > 0 ? process.argv[workersArg + 1].split(',').map(Number) : [0, 1, 2];
const wasmDirArg = process.argv.indexOf('--tfjs-wasm-dir');
const sizesArg = process.argv.indexOf('--sizes');
const sizes = sizesArg > 0 ? process.argv[sizesArg + 1].split(',').map(Number) : [224, 32];
const noTfjs = process.argv.includes('--no-tfjs');
const prefetchArg = process.argv.indexOf('--prefetch');
const prefetch = prefetchArg > 0 ? Number(process.argv[prefetchArg + 1]) : 2;
// --reuse: DataLoader({ reuseBuffers: true }), recycling batch memory instead of a fresh array per batch.
const reuseBuffers = process.argv.includes('--reuse');
// Two consumers: 'released' hands each batch back once used (batch.release(), as fit() and
// evaluate() do), so the loader writes later batches into that memory; 'kept' keeps every batch (a
// fresh array per batch, as tfjs gives). --modes released or --modes kept measures one.
const modesArg = process.argv.indexOf('--modes');
const modes = modesArg > 0 ? process.argv[modesArg + 1].split(',') : ['released', 'kept'];
const require = createRequire(import.meta.url);
const mean = [0.485, 0.456, 0.406];
const std = [0.229, 0.224, 0.225];

function dataset(n) {
  const r = new Random(1);
  const images = Uint8Array.from({ length: n * 32 * 32 * 3 }, () => r.int(256));
  return new datasets.ArrayDataset(
    images,
    Array.from({ length: n }, (_, i) => i % 10),
    { shape: [n, 32, 32, 3], numClasses: 10 },
  );
}

function pipeline(size) {
  return new T.Compose([
    new T.Resize([size, size]),
    new T.RandomHorizontalFlip(),
    new T.RandomVerticalFlip(),
    new T.RandomRotation(20),
    new T.ToTensor(),
    new T.Normalize(mean, std),
  ]);
}

// Epochs of warm-up and of measurement. A 32x32 epoch of 4096 images lasts ~30-50 ms: one warm-up
// epoch left the workers still warming up (JIT, allocator) during the measured one, and a single such
// epoch is mostly noise on a shared box, so the 32x32 row warms up 3 epochs and measures 4.
const warmupArg = process.argv.indexOf('--warmup');
const epochsArg = process.argv.indexOf('--epochs');

// Warm-up and measurement run whole epochs for at least this long (seconds): a 32x32 epoch of 4096
// images lasts ~25-45 ms, so a fixed few epochs measured ~0.1 s, too short on a shared 2-core box (and
// the workers' JIT was still warming up); --seconds S changes the measured time.
const secondsArg = process.argv.indexOf('--seconds');
const measureSeconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : quick ? 0.5 : 2;

async function vireo(ds, size, numWorkers, batchSize, warmup, epochs, release) {
  ds.transform = pipeline(size);
  const loader = new DataLoader(ds, { batchSize, shuffle: true, numWorkers, seed: 1, prefetch, reuseBuffers });
  const epochsFor = async (count, seconds) => {
    const t0 = performance.now();
    let n = 0;
    for (let e = 0; e < count || performance.now() - t0 < seconds * 1000; e++)
      for await (const batch of loader) {
        n += batch.x.shape[0];
        if (release) batch.release();
      }
    return { n, s: (performance.now() - t0) / 1000 };
  };
  // warm-up: workers started, kernels compiled and optimized, nothing left in flight
  await epochsFor(warmupArg > 0 ? Number(process.argv[warmupArg + 1]) : warmup, measureSeconds / 2);
  const { n, s } = await epochsFor(epochsArg > 0 ? Number(process.argv[epochsArg + 1]) : epochs, measureSeconds);
  await loader.close();
  return n / s;
}

async function tfjs(tf, ds, size, batchSize) {
  const m = tf.reshape(tf.tensor1d(mean), [1, 1, 1, 3]);
  const sd = tf.reshape(tf.tensor1d(std), [1, 1, 1, 3]);
  const run = (count) => {
    const r = new Random(2);
    let done = 0;
    while (done < count) {
      const b = Math.min(batchSize, count - done);
      const x = new Float32Array(b * 3 * size * size);
      for (let k = 0; k < b; k++) {
        const { image } = ds.raw((done + k) % ds.length);
        const out = tf.tidy(() => {
          let t = tf.tensor4d(Float32Array.from(image.data), [1, 32, 32, 3]);
          // (the dataset holds HWC bytes, tfjs's NHWC layout)
          t = tf.image.resizeBilinear(t, [size, size], false, true);
          if (r.next() < 0.5) t = tf.image.flipLeftRight(t);
          if (r.next() < 0.5) t = tf.reverse(t, 1);
          t = tf.image.rotateWithOffset(t, (r.uniform(-20, 20) * Math.PI) / 180, 0);
          return tf.transpose(tf.div(tf.sub(tf.div(t, 255), m), sd), [0, 3, 1, 2]);
        });
        x.set(out.dataSync(), k * 3 * size * size);
        out.dispose();
      }
      done += b;
    }
  };
  run(Math.min(8, ds.length));
  const t0 = performance.now();
  run(ds.length);
  return ds.length / ((performance.now() - t0) / 1000);
}

// tfjs runs in a child process of this run: loaded here, its large heap made every GC of this
// process slower, and a consumer that keeps its batches relies on GC to free them (2 workers: 160k ->
// 112k images/s at 32x32 with tfjs merely imported). An app would not load both.
const tfjsChild = process.argv.indexOf('--tfjs-child');
if (tfjsChild > 0) {
  const [size, n, batch] = process.argv.slice(tfjsChild + 1, tfjsChild + 4).map(Number);
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
  wasmBackend.setWasmPaths(
    wasmDirArg > 0 ? process.argv[wasmDirArg + 1] : `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`,
  );
  wasmBackend.setThreadsCount?.(1);
  const row = {};
  for (const backend of ['cpu', 'wasm']) {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to start`);
    row[`tfjs-${backend}`] = await tfjs(tf, dataset(n), size, batch);
  }
  console.log(JSON.stringify(row));
  process.exit(0);
}

function tfjsInChild(size, n, batch) {
  const extra = wasmDirArg > 0 ? ['--tfjs-wasm-dir', process.argv[wasmDirArg + 1]] : [];
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--tfjs-child', size, n, batch, ...extra], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    stdio: ['ignore', 'pipe', 'pipe'], // tfjs's banner about tfjs-node stays out of the table
  });
  return JSON.parse(out.trim().split('\n').at(-1));
}

console.log(
  `data pipeline: 32x32 RGB -> Resize -> flips -> RandomRotation(20) -> ToTensor -> Normalize; ${availableParallelism()} cores, Node ${process.version}`,
);
const results = {};
// [output size, images, batch, warm-up epochs, measured epochs]
const configs = quick
  ? [
      [224, 128, 32, 1, 1],
      [32, 1024, 256, 3, 4],
    ]
  : [
      [224, 384, 64, 1, 1],
      [32, 4096, 256, 3, 4],
    ];
for (const [size, n, batch, warmup, epochs] of configs.filter(([s]) => sizes.includes(s))) {
  const ds = dataset(n);
  const row = {};
  for (const mode of modes)
    for (const w of workerCounts)
      row[`vireo ${w}w ${mode}`] = await vireo(ds, size, w, batch, warmup, epochs, mode === 'released');
  if (!noTfjs) Object.assign(row, tfjsInChild(size, quick ? n / 4 : n / 2, batch));
  results[size] = row;
  console.log(
    `\n-> ${size}x${size} (${n} images, batch ${batch}; vireo: warm-up >= ${warmup} epoch(s) and ${measureSeconds / 2} s, measured >= ${epochs} epoch(s) and ${measureSeconds} s)`,
  );
  for (const [k, v] of Object.entries(row)) console.log(`  ${k.padEnd(20)} ${v.toFixed(0).padStart(7)} images/s`);
  const bestTf = noTfjs ? Number.NaN : Math.max(row['tfjs-cpu'], row['tfjs-wasm']);
  for (const mode of modes) {
    const v0 = row[`vireo 0w ${mode}`];
    const scaling = workerCounts
      .filter((w) => w > 0)
      .map((w) => `${w}w/0w ${(row[`vireo ${w}w ${mode}`] / v0).toFixed(2)}x`)
      .join('  ');
    const best = Math.max(...workerCounts.map((w) => row[`vireo ${w}w ${mode}`]));
    console.log(
      `  batches ${mode.padEnd(8)}: ${scaling}   vireo 0 workers / best tfjs ${(v0 / bestTf).toFixed(2)}x   vireo best / best tfjs ${(best / bestTf).toFixed(2)}x`,
    );
  }
}

/** The --stall and --share epochs' augmentation on 32x32 input: flips, rotation, normalize. */
const trainingAugmentation = () =>
  new T.Compose([
    new T.RandomHorizontalFlip(),
    new T.RandomVerticalFlip(),
    new T.RandomRotation(20),
    new T.ToTensor(),
    new T.Normalize(mean, std),
  ]);

// --stall: how much of a training epoch waits on data when the issue's reference CNN trains on 32x32
// input (flips, rotation, normalize) with 2 workers: the loader's wait, with and without the first
// batch (worker start-up).
if (process.argv.includes('--stall')) {
  const n = quick ? 512 : 1024;
  const ds = dataset(n);
  ds.transform = trainingAugmentation();
  const loader = new DataLoader(ds, { batchSize: 32, shuffle: true, numWorkers: 2, seed: 1 });
  const model = models.cifarNet();
  const t0 = performance.now();
  await fit(model, {
    train: loader,
    epochs: 1,
    optimizer: new optim.SGD(model.parameters(), { lr: 0.01 }),
    loss: new CrossEntropyLoss(),
  });
  const ms = performance.now() - t0;
  const { waitMs, firstWaitMs, batches } = loader.stats;
  await loader.close();
  console.log(
    `\n-> training stall, reference CNN, 32x32, batch 32, 2 workers, ${n} images (${batches} batches): epoch ${(ms / 1000).toFixed(1)} s`,
  );
  console.log(
    `  waiting on data: ${((100 * waitMs) / ms).toFixed(1)}% of the epoch (${waitMs.toFixed(0)} ms; first batch ${firstWaitMs.toFixed(0)} ms); after the first batch ${((100 * (waitMs - firstWaitMs)) / (ms - firstWaitMs)).toFixed(1)}%`,
  );
  results.stall = { images: n, batches, epochMs: ms, waitMs, firstWaitMs };
}

// --share: how the compute threads and the data workers share the cores. The reference CNN trains one epoch
// on 32x32 input with the --stall augmentation under each (compute threads, numWorkers): the default rule
// (threads = cores, numWorkers 'auto' = cores − threads, at least 1), one compute thread with 'auto' workers,
// oversubscribed (as many workers as cores on top of the threads) and data on the main thread (0 workers).
// Rounds alternate the configurations; medians of the epoch time, images/s and the share spent waiting on data.
if (process.argv.includes('--share')) {
  const n = quick ? 256 : 1024;
  const cores = availableParallelism();
  const configs = [
    { label: `threads ${cores}, workers auto (the default)`, threads: cores, workers: 'auto' },
    { label: 'threads 1, workers auto', threads: 1, workers: 'auto' },
    { label: `threads ${cores}, workers ${cores} (oversubscribed)`, threads: cores, workers: cores },
    { label: `threads ${cores}, workers 0 (data on the main thread)`, threads: cores, workers: 0 },
  ];
  const rounds = quick ? 1 : 3;
  const samples = configs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? [...configs.keys()].reverse() : configs.keys()) {
      const c = configs[k];
      const ds = dataset(n);
      ds.transform = trainingAugmentation();
      const model = models.cifarNet();
      await model.to('wasm', { threads: c.threads });
      const loader = new DataLoader(ds, { batchSize: 32, shuffle: true, numWorkers: c.workers, seed: 1 });
      const optimizer = new optim.SGD(model.parameters(), { lr: 0.01 });
      // One warm-up epoch (worker start-up, plan compile), then the timed one.
      for (const timed of [false, true]) {
        const t0 = performance.now();
        const before = { ...loader.stats };
        await fit(model, { train: loader, epochs: 1, optimizer, loss: new CrossEntropyLoss() });
        if (timed) {
          const ms = performance.now() - t0;
          samples[k].push({ ms, waitMs: loader.stats.waitMs - before.waitMs, workers: await loader.poolSize });
        }
      }
      await loader.close();
      model.releasePlans();
    }
  }
  const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
  console.log(
    `\n-> sharing ${cores} cores: reference CNN, 32x32 with augmentation, batch 32, ${n} images an epoch, medians of ${rounds}`,
  );
  results.share = configs.map((c, k) => {
    const ms = med(samples[k].map((s) => s.ms));
    const wait = med(samples[k].map((s) => s.waitMs / s.ms));
    const workers = samples[k][0].workers;
    console.log(
      `  ${c.label.padEnd(48)} ${workers} worker${workers === 1 ? '' : 's'}  ${(ms / 1000).toFixed(2)} s  ${((1000 * n) / ms).toFixed(0)} img/s  waiting on data ${(100 * wait).toFixed(1)}%`,
    );
    return { ...c, workersRun: workers, epochMs: ms, imagesPerS: (1000 * n) / ms, waitShare: wait };
  });
}

// Like run.mjs and train.mjs: the figures as JSON (--out FILE, default bench/results/data-latest.json).
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? process.argv[outArg + 1] : fileURLToPath(new URL('./results/data-latest.json', import.meta.url));
writeJson(out, { date: new Date().toISOString(), node: process.version, cores: availableParallelism(), quick, results });
