import type { WasmBuild } from '../registry.js';

/** The kernel module's exports: plain functions on byte pointers into its memory. */
export type KernelExports = Record<string, (...args: number[]) => number> & { memory: WebAssembly.Memory };

export interface LoadedWasm {
  build: WasmBuild;
  exports: KernelExports;
  features: { simd: boolean; relaxedSimd: boolean };
  /** The compiled module (the threaded backend instantiates it again in each worker). */
  module: WebAssembly.Module;
  /** Whether the memory is a shared one (the build's threaded twin). */
  shared: boolean;
}

// Tiny modules that use one feature each: if the engine validates them, the matching build runs here.
// biome-ignore format: module bytes read best as rows
const simdProbe = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, ...new Array(16).fill(0), 11,
]);
// biome-ignore format: module bytes read best as rows
const relaxedProbe = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  ...[0, 1, 2].flatMap(() => [253, 12, ...new Array(16).fill(0)]),
  253, 133, 2, 11,
]);

let relaxedFlagTried = false;

/** Node 20 keeps relaxed SIMD behind a V8 flag; turning it on before compiling is supported by V8. */
async function enableRelaxedSimdInNode(): Promise<void> {
  if (relaxedFlagTried) return;
  relaxedFlagTried = true;
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node || WebAssembly.validate(relaxedProbe)) return;
  try {
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // Not Node after all, or flags are locked: the simd build still runs.
  }
}

export async function detectFeatures(): Promise<{ simd: boolean; relaxedSimd: boolean }> {
  await enableRelaxedSimdInNode();
  const simd = WebAssembly.validate(simdProbe);
  return { simd, relaxedSimd: simd && WebAssembly.validate(relaxedProbe) };
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (B) return new Uint8Array(B.from(text, 'base64'));
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

async function moduleBytes(build: WasmBuild | ThreadedBuild): Promise<Uint8Array<ArrayBuffer>> {
  switch (build) {
    case 'relaxed-threads':
      return decodeBase64((await import('./generated/relaxed-threads.js')).wasmBase64);
    case 'simd-threads':
      return decodeBase64((await import('./generated/simd-threads.js')).wasmBase64);
    case 'relaxed':
      return decodeBase64((await import('./generated/relaxed.js')).wasmBase64);
    case 'simd':
      return decodeBase64((await import('./generated/simd.js')).wasmBase64);
    case 'scalar':
      return decodeBase64((await import('./generated/scalar.js')).wasmBase64);
  }
}

/** The builds over an imported shared memory (asconfig.json): the same kernels, for the threaded backend. */
export type ThreadedBuild = 'simd-threads' | 'relaxed-threads';

/** The threaded twin of a build; the scalar build has none (every engine with threads has SIMD). */
export function threadedBuild(build: WasmBuild): ThreadedBuild | null {
  return build === 'relaxed' ? 'relaxed-threads' : build === 'simd' ? 'simd-threads' : null;
}

/**
 * Maximum pages of the shared memory: a shared memory cannot move when it grows, so engines reserve the
 * maximum up front; 2 GiB, or 1 GiB where the engine refuses that (32-bit devices).
 */
const SHARED_MAX_PAGES = [32768, 16384];

function sharedMemoryOf(initialPages: number): WebAssembly.Memory {
  let last: unknown;
  for (const maximum of SHARED_MAX_PAGES) {
    try {
      return new WebAssembly.Memory({ initial: initialPages, maximum, shared: true });
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

/** Picks the best build this engine validates (relaxed > simd > scalar) unless one is forced. */
export async function loadWasm(forced?: WasmBuild, options: { shared?: boolean } = {}): Promise<LoadedWasm> {
  const features = await detectFeatures();
  const best: WasmBuild = features.relaxedSimd ? 'relaxed' : features.simd ? 'simd' : 'scalar';
  const build = forced ?? best;
  if ((build === 'relaxed' && !features.relaxedSimd) || (build === 'simd' && !features.simd)) {
    throw new Error(`wasm build '${build}' is not supported by this engine (best available: '${best}')`);
  }
  const twin = options.shared ? threadedBuild(build) : null;
  const module = await WebAssembly.compile(await moduleBytes(twin ?? build));
  const memory = twin ? sharedMemoryOf(16) : undefined;
  const instance = await WebAssembly.instantiate(module, {
    env: {
      ...(memory ? { memory } : {}),
      abort: () => {
        throw new Error('wasm kernel aborted');
      },
    },
  });
  const exports = instance.exports as unknown as KernelExports;
  return { build, exports: memory ? Object.assign({}, exports, { memory }) : exports, features, module, shared: !!twin };
}
