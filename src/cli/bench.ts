import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type Io, UsageError } from './args.js';
import { packageRoot } from './package.js';

interface BenchModule {
  main(argv: string[], log: (line: string) => void): Promise<number>;
  usage: string;
  UsageError: new (...args: never[]) => Error;
}

/** Runs bench/run.mjs (a source checkout's benchmark against its devDependency peers). */
export async function benchCommand(argv: string[], io: Io): Promise<number> {
  // --onnx: ONNX models vs onnxruntime-web; --placement: where auto puts each layer, against single backends.
  const name = argv.includes('--onnx') ? 'onnx' : argv.includes('--placement') ? 'placement' : 'run';
  const script = `${packageRoot}bench/${name}.mjs`;
  if (!existsSync(script)) {
    io.err('vireo bench: bench/ is not in this install; it runs from a source checkout with its devDependencies:');
    io.err('  git clone <vireo repository> && cd vireo && npm ci && npx vireo bench');
    return 1;
  }
  const bench = (await import(pathToFileURL(script).href)) as BenchModule;
  try {
    return await bench.main(argv, io.out);
  } catch (err) {
    if (err instanceof bench.UsageError) throw new UsageError(`${err.message}\n\n${bench.usage}`);
    throw err;
  }
}
