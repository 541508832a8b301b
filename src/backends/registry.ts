import { ArgumentError } from '../core/errors.js';
import type { Backend } from './backend.js';
import { registerMemoryOwner } from './host.js';

export type BackendName = 'reference' | 'wasm';
export type WasmBuild = 'simd' | 'relaxed' | 'scalar';

export interface BackendOptions {
  /** wasm only: force a build instead of the best one this engine validates. */
  build?: WasmBuild;
  /** webgpu only: which adapter to ask for (else VIREO_WEBGPU_ADAPTER, else the default one). */
  adapter?: 'default' | 'high-performance' | 'low-power' | 'fallback';
  /**
   * wasm only: threads for convolution, GEMM and training steps (1: the calling thread only). Default: the
   * cores the platform reports, capped; 1 where shared memory is unavailable (backendInfo() says why).
   */
  threads?: number;
}

type Loader = (options: BackendOptions) => Promise<Backend>;

const loaders = new Map<string, Loader>();
const instances = new Map<string, Promise<Backend>>();

export function registerBackend(name: string, loader: Loader): void {
  loaders.set(name, loader);
}

/** Loads (once) and returns a backend. `'wasm'` picks the best build unless `options.build` forces one. */
export function getBackend(name: string, options: BackendOptions = {}): Promise<Backend> {
  const loader = loaders.get(name);
  if (!loader) {
    throw new ArgumentError(`unknown backend '${name}'; available: ${[...loaders.keys()].join(', ')}`);
  }
  const key = `${name}:${options.build ?? 'auto'}:${options.threads ?? 'auto'}:${options.adapter ?? ''}`;
  let instance = instances.get(key);
  if (!instance) {
    instance = loader(options).then((b) => {
      registerMemoryOwner(b);
      return b;
    });
    instances.set(key, instance);
    instance.catch(() => instances.delete(key));
  }
  return instance;
}

/** Forgets a loaded instance (a WebGPU backend whose device was lost): the next getBackend loads a new one. */
export function forgetInstance(backend: Backend): void {
  for (const [key, instance] of instances) {
    instance.then(
      (b) => {
        if (b === backend && instances.get(key) === instance) instances.delete(key);
      },
      () => {},
    );
  }
}

export function backendNames(): string[] {
  return [...loaders.keys()];
}

/**
 * `auto`'s default candidates: every registered backend but the oracle (reference). webgpu is one when it is
 * registered; `to('auto')` then tries to start it and leaves it out, with the reason, when this machine has
 * no adapter or the optional package (src/scheduler/candidates.ts).
 *
 * In Node, `VIREO_AUTO_CANDIDATES=wasm` (a comma list) narrows the default, for a machine whose only adapter
 * is a software one (SwiftShader) that every new process would otherwise calibrate; a name that is not a
 * registered backend is an ArgumentError naming the variable.
 */
export function autoCandidates(): string[] {
  const fromEnv = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.VIREO_AUTO_CANDIDATES;
  if (fromEnv?.trim()) {
    const names = fromEnv
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !loaders.has(n));
    if (unknown.length)
      throw new ArgumentError(
        `VIREO_AUTO_CANDIDATES names ${unknown.map((n) => `'${n}'`).join(', ')}, not a backend (the backends: ${backendNames().join(', ')})`,
      );
    return names;
  }
  return backendNames().filter((n) => n !== 'reference');
}

/**
 * Disposes every loaded instance of a backend that holds a device (WebGPU: destroys the device and drops
 * Dawn's instance, which otherwise keeps Node running) and forgets it; the next getBackend loads it again.
 * Models compiled on it must not run afterwards.
 */
export async function disposeBackend(name: string): Promise<void> {
  for (const [key, instance] of [...instances]) {
    if (!key.startsWith(`${name}:`)) continue;
    instances.delete(key);
    const b = await instance.catch(() => null);
    b?.dispose?.();
  }
}
