// ONNX models on vireo vs onnxruntime-web (wasm, SIMD, one thread) in the same run, interleaved rounds,
// batch 1 and 32; prints milliseconds per batch and the ratio (onnxruntime-web time / vireo time: > 1
// means vireo is faster). `node bench/onnx.mjs [--onnx FILE]...` or `vireo bench --onnx FILE`.
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = ['reference_cnn', 'resnet_mini', 'mobilenet_mini'].map((n) =>
  join(root, 'tests', 'fixtures', 'onnx', `${n}.onnx`),
);

export const usage = `usage: vireo bench --onnx FILE [--onnx FILE...] [--batches 1,32] [--quick] [--json] [--build B]

Runs each ONNX model on vireo (wasm) and on onnxruntime-web (wasm, one thread) at each batch size,
in interleaved rounds, and prints ms per batch and the ratio onnxruntime-web / vireo (> 1: vireo faster).
Without --onnx: the three cross-check models of tests/fixtures/onnx/.

  --onnx FILE      an .onnx model with one float32 NCHW input (dynamic batch, or the batch it declares)
  --batches LIST   comma-separated batch sizes (default 1,32)
  --build B        vireo wasm build: relaxed, simd or scalar (default: the best this engine runs)
  --quick          fewer repetitions (a smoke run)
  --json           print one JSON object with every row
`;

export class UsageError extends Error {}

export function parseArgs(argv) {
  const opts = { files: [], batches: [1, 32], quick: false, json: false, build: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--onnx') opts.files.push(next());
    else if (a === '--batches') {
      opts.batches = next().split(',').map(Number);
      if (opts.batches.some((b) => !Number.isInteger(b) || b < 1))
        throw new UsageError('--batches takes positive integers, e.g. 1,32');
    } else if (a === '--build') opts.build = next();
    else if (a === '--quick') opts.quick = true;
    else if (a === '--json') opts.json = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else throw new UsageError(`unknown option '${a}'`);
  }
  if (opts.files.length === 0) opts.files = FIXTURES;
  return opts;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function seeded(n, seed) {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

async function timeRounds(fns, rounds, minMs) {
  const samples = fns.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [k, fn] of fns.entries()) {
      let n = 0;
      const t0 = performance.now();
      do {
        await fn();
        n++;
      } while (performance.now() - t0 < minMs);
      samples[k].push((performance.now() - t0) / n);
    }
  }
  return samples.map(median);
}

export async function main(argv = process.argv.slice(2), log = console.log) {
  const opts = parseArgs(argv);
  if (opts.help) {
    log(usage);
    return 0;
  }
  const vireo = await import('vireo');
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const rows = [];
  const say = opts.json ? () => {} : log;
  say(`vireo vs onnxruntime-web ${ort.env.versions?.web ?? ''} (wasm, 1 thread), ms per batch (median of interleaved rounds)`);
  for (const file of opts.files) {
    const bytes = new Uint8Array(readFileSync(file));
    const model = await vireo.importOnnx(bytes);
    await model.to('wasm', { ...(opts.build ? { build: opts.build } : {}), threads: 1 }); // as onnxruntime-web here
    const build = (await model.currentBackend()).info().build;
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const inputName = model.inputNames[0];
    const declared = model.declaredInputShapes[0];
    for (const batch of opts.batches) {
      const shape = [batch, ...declared.slice(1)];
      const x = seeded(
        shape.reduce((a, b) => a * b, 1),
        batch,
      );
      const xt = new vireo.Tensor(x, shape);
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, shape) };
      let out;
      let ref;
      try {
        out = (await model.run({ [inputName]: xt }))[model.outputNames[0]].dataSync();
        ref = (await session.run(feeds))[session.outputNames[0]].data;
      } catch (e) {
        say(`${basename(file)} batch ${batch}: skipped (${e.message.split('\n')[0]})`);
        continue;
      }
      let diff = 0;
      for (let i = 0; i < out.length; i++) diff = Math.max(diff, Math.abs(out[i] - ref[i]));
      const [vMs, oMs] = await timeRounds(
        [() => model.run({ [inputName]: xt }), () => session.run(feeds)],
        opts.quick ? 3 : 7,
        opts.quick ? 100 : 300,
      );
      const row = {
        model: basename(file),
        batch,
        vireoBuild: build,
        vireoMs: vMs,
        ortWebMs: oMs,
        ratio: oMs / vMs,
        maxAbsDiff: diff,
      };
      rows.push(row);
      say(
        `${row.model.padEnd(22)} batch ${String(batch).padStart(2)}  vireo(${build}) ${vMs.toFixed(2).padStart(8)} ms  ` +
          `ort-web ${oMs.toFixed(2).padStart(8)} ms  ratio ${row.ratio.toFixed(2)}x  max|diff| ${diff.toExponential(1)}`,
      );
    }
    model.releasePlans();
    await session.release();
  }
  if (opts.json) log(JSON.stringify({ rows }, null, 2));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      if (err instanceof UsageError) {
        console.error(`vireo bench --onnx: ${err.message}\n\n${usage}`);
        process.exitCode = 2;
      } else {
        console.error(err?.stack ?? err);
        process.exitCode = 1;
      }
    },
  );
}
