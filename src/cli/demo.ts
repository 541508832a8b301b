import { type WasmBuild, manualSeed, tensor } from '../index.js';
import { type Io, UsageError, intOption, parseArgs } from './args.js';
import { packageRoot } from './package.js';
import { backendOption } from './ui.js';
import { cifar10Classes, cifarNetFor } from './zoo.js';
import { pixelsToChw, sampleImageRgb, topK } from './sample.js';
import { appHeaders, ensureAppBuilt, serveApp } from './serve-app.js';

export const demoHelp = `usage: vireo demo [--port N] [--host H]
       vireo demo --terminal [--seed N] [--backend wasm|reference] [--build relaxed|simd|scalar] [--runs N] [--json]

Serves the vireo web app on this machine and prints its URL: Classify (a Fashion-MNIST model vireo
trained, with the camera, files, drag-and-drop or paste), Teach (train a classifier from your own camera
pictures, in the browser) and Benchmark (vireo's speed on this device). It builds the app first when
dist/app/ is missing or older than its sources; \`npm run build:demo\` writes the same static folder for
any web server. The server sends the headers the app needs: ${Object.entries(appHeaders)
  .slice(0, 2)
  .map(([k, v]) => `${k}: ${v}`)
  .join(', ')}.

  --port N       port to listen on (default 8000; 0 picks a free one)
  --host H       address to listen on (default 127.0.0.1; 0.0.0.0 lets phones on your network connect,
                 but browsers give camera access to http pages on localhost only)

--terminal runs the reference CNN (the classic CIFAR-10 network) with seeded random weights on an
embedded 32×32 picture in this process instead, and prints the top-5 classes and the time per forward.
The weights are random, so the ranking is not a prediction: it shows the engine runs and how fast.

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
    terminal: { type: 'boolean' },
    port: { type: 'string' },
    host: { type: 'string' },
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
  const port = intOption(values.port, 'port', 8000, 0);
  if (!values.terminal) {
    const terminalOnly = ['seed', 'backend', 'build', 'runs', 'json'].filter(
      (k) => values[k as keyof typeof values] !== undefined,
    );
    if (terminalOnly.length)
      throw new UsageError(`--${terminalOnly[0]} applies to \`vireo demo --terminal\` (the web app takes no such option)`);
    return serveCommand(values.host ?? '127.0.0.1', port, io);
  }
  if (values.port !== undefined || values.host !== undefined)
    throw new UsageError('--port and --host serve the web app; leave out --terminal');

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
  io.out('note: the weights are random, so the ranking is not a prediction; `vireo demo` without --terminal serves');
  io.out('the web app, whose Classify view runs a model vireo trained on Fashion-MNIST.');
  return 0;
}

/** Builds the app if needed and serves it until the process is stopped. */
async function serveCommand(host: string, port: number, io: Io): Promise<number> {
  const dir = ensureAppBuilt(packageRoot, io.err);
  const server = await serveApp(dir, host, port);
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  io.out(`vireo app: http://${shown}:${actual}/`);
  io.out(`serving ${dir} (Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
