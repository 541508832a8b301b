import type { WasmArena } from '../arena.js';
import type { KernelExports } from './loader.js';
import type { WasmBuild } from '../registry.js';
import type { ThreadPool } from './threads.js';

/** What every wasm kernel glue needs: the module's exports and the arena over its memory. */
export interface WasmContext {
  exports: KernelExports;
  arena: WasmArena;
  build: WasmBuild;
  /** The worker threads sharing this memory (null: one thread, the caller's). */
  pool?: ThreadPool | null;
}
