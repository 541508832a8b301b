// The wasm side of the optimizers: an instance of the kernel module (same build as the model's
// backend) whose memory holds each optimizer's parameters, gradients and state in one region
// allocated on the first step, so a warm step allocates nothing and only copies p and g in, p out.
import { WasmArena } from '../../backends/arena.js';
import { type KernelExports, loadWasm } from '../../backends/wasm/loader.js';
import type { WasmBuild } from '../../backends/registry.js';

export interface OptimRuntime {
  build: WasmBuild;
  exports: KernelExports;
  arena: WasmArena;
}

const runtimes = new Map<WasmBuild, Promise<OptimRuntime>>();

/** One module instance per build, shared by every optimizer (each keeps its own region in it). */
export function optimRuntime(build: WasmBuild): Promise<OptimRuntime> {
  let r = runtimes.get(build);
  if (!r) {
    r = loadWasm(build).then((loaded) => ({
      build: loaded.build,
      exports: loaded.exports,
      arena: new WasmArena(loaded.exports.memory, loaded.exports.heap_base()),
    }));
    runtimes.set(build, r);
    r.catch(() => runtimes.delete(build));
  }
  return r;
}
