import { backendInfo } from '../index.js';
import { type Io, parseArgs } from './args.js';
import { packageVersion } from './package.js';

export const infoHelp = `usage: vireo info [--json]

Prints the runtime, its WebAssembly feature support (SIMD, relaxed SIMD, threads) and which wasm build
of the engine runs here.

  --json   one JSON object instead of text`;

export async function infoCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.out(infoHelp);
    return 0;
  }
  const wasm = await backendInfo('wasm');
  const { cpus } = await import('node:os');
  const g = globalThis as { SharedArrayBuffer?: unknown; navigator?: { gpu?: unknown } };
  const info = {
    vireo: packageVersion(),
    runtime: `Node.js ${process.version}`,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    wasm: {
      simd: wasm.features?.simd ?? false,
      relaxedSimd: wasm.features?.relaxedSimd ?? false,
      // Threads need shared memory; the engine runs one thread today (a worker pool comes with the data pipeline).
      threads: typeof g.SharedArrayBuffer === 'function',
    },
    webgpu: g.navigator?.gpu !== undefined,
    build: wasm.build ?? 'unknown',
  };
  if (values.json) {
    io.out(JSON.stringify(info));
    return 0;
  }
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  io.out(`vireo ${info.vireo}`);
  io.out(`runtime        ${info.runtime} (V8 ${info.v8}), ${info.platform}`);
  io.out(`cpu            ${info.cpu} × ${info.cores}`);
  io.out(`wasm simd      ${yes(info.wasm.simd)}`);
  io.out(`relaxed simd   ${yes(info.wasm.relaxedSimd)}`);
  io.out(`wasm threads   ${yes(info.wasm.threads)} (vireo uses one thread)`);
  io.out(`webgpu         ${info.webgpu ? 'navigator.gpu present' : 'no adapter API in this runtime'}`);
  io.out(`running build  ${info.build} (best this engine validates: relaxed > simd > scalar)`);
  return 0;
}
