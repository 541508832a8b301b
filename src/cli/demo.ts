import { type WasmBuild, manualSeed, tensor } from '../index.js';
import { type Io, UsageError, intOption, parseArgs } from './args.js';
import { backendOption } from './ui.js';
import { cifar10Classes, cifarNetFor } from './zoo.js';
import { pixelsToChw, sampleImageRgb, topK } from './sample.js';

export const demoHelp = `usage: vireo demo [--seed N] [--backend wasm|reference] [--build relaxed|simd|scalar] [--runs N] [--json]

Runs the reference CNN (issue 2, CIFAR-10 classes) with seeded random weights on an embedded 32×32
picture and prints the top-5 classes and the time per forward. Random weights mean the classes are not
meaningful yet: training arrives with \`vireo train\`.

  --seed N       weight seed for manualSeed (default 0)
  --backend B    wasm (default) or reference
  --build B      force a wasm build instead of the best this engine validates
  --runs N       timed warm runs (default 20)
  --json         one JSON object instead of text`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The demo's forward pass, shared with tests: seeded weights, the embedded input, logits and timings. */
export async function runDemo(options: { seed: number; backend: string; build?: WasmBuild; runs: number }) {
  manualSeed(options.seed);
  const net = cifarNetFor(3, 32, 32, 10);
  net.eval();
  await net.to(options.backend, options.build ? { build: options.build } : {});
  const input = tensor(pixelsToChw(sampleImageRgb(32), 32, 32, 3), [1, 3, 32, 32]);
  const t0 = performance.now();
  const logits = await (await net.forward(input)).data();
  const firstMs = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    const t = performance.now();
    await (await net.forward(input)).data();
    times.push(performance.now() - t);
  }
  const info = (await net.currentBackend()).info();
  net.releasePlans();
  return {
    logits,
    firstMs,
    warmMs: times.length ? median(times) : firstMs,
    runs: times.length,
    backend: info.name,
    build: info.build ?? null,
  };
}

export async function demoCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs(argv, {
    seed: { type: 'string' },
    backend: { type: 'string' },
    build: { type: 'string' },
    runs: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(demoHelp);
    return 0;
  }
  const backend = backendOption(values.backend, 'wasm');
  const build = values.build as WasmBuild | undefined;
  if (build !== undefined && !['relaxed', 'simd', 'scalar'].includes(build)) {
    throw new UsageError(`--build must be relaxed, simd or scalar, got '${build}'`);
  }
  if (build !== undefined && backend !== 'wasm') throw new UsageError('--build applies to --backend wasm only');
  const seed = intOption(values.seed, 'seed', 0, 0);
  const runs = intOption(values.runs, 'runs', 20, 1);

  let result: Awaited<ReturnType<typeof runDemo>>;
  try {
    result = await runDemo({ seed, backend, build, runs });
  } catch (err) {
    const message = (err as Error).message;
    if (/has no .* kernel/.test(message) && backend === 'wasm' && values.backend === undefined) {
      io.err(`vireo demo: the wasm backend cannot run this model yet (${message}); using the reference backend.`);
      result = await runDemo({ seed, backend: 'reference', runs: Math.min(runs, 3) });
    } else {
      throw err;
    }
  }
  const top = topK(result.logits, cifar10Classes, 5);
  if (values.json) {
    io.out(
      JSON.stringify({
        backend: result.backend,
        build: result.build,
        seed,
        top5: top.map(({ label, probability }) => ({ label, probability })),
        logits: [...result.logits],
        firstMs: result.firstMs,
        warmMs: result.warmMs,
      }),
    );
    return 0;
  }
  const where = result.build ? `${result.backend} (build '${result.build}')` : result.backend;
  io.out(`vireo demo — reference CNN, random weights (seed ${seed}), ${where}`);
  io.out('input: the embedded 32×32 picture (a boat at sea), CIFAR-10 normalization');
  io.out('top-5:');
  top.forEach((t, i) => io.out(`  ${i + 1}. ${t.label.padEnd(10)} ${(100 * t.probability).toFixed(1).padStart(5)}%`));
  io.out(
    `time: first forward ${result.firstMs.toFixed(1)} ms (plan + weight packing), then ${result.warmMs.toFixed(2)} ms (median of ${result.runs})`,
  );
  io.out('note: the weights are random, so the ranking is not a prediction; `vireo train` (issue 5) will train them.');
  return 0;
}
