import type { Parameter } from '../../../core/parameter.js';
import type { WasmContext } from '../context.js';

interface Staged {
  ptr: number;
  /** Parameter.version last copied in (-1: never). */
  version: number;
  users: number;
}

const staged = new WeakMap<WasmContext, Map<Parameter, Staged>>();

/**
 * A copy of a weight in wasm memory shared by every kernel of one backend that packs from it (a linear
 * layer's forward Wᵀ pack and its input-gradient W pack): the 16 MB copy of fc 4096->1024 runs once per
 * weight version instead of once per kernel. Acquire at plan time, release in dispose.
 */
export function acquireStagedWeight(ctx: WasmContext, param: Parameter): { ptr(): number; release(): void } {
  let map = staged.get(ctx);
  if (!map) {
    map = new Map();
    staged.set(ctx, map);
  }
  const table = map;
  let entry = table.get(param);
  if (!entry) {
    entry = { ptr: ctx.arena.alloc(4 * param.values.length), version: -1, users: 0 };
    table.set(param, entry);
  }
  entry.users++;
  const e = entry;
  let released = false;
  return {
    /** The staged copy, refreshed when the parameter's version moved since the last copy. */
    ptr() {
      if (e.version !== param.version) {
        ctx.arena.f32(e.ptr, param.values.length).set(param.values);
        e.version = param.version;
      }
      return e.ptr;
    },
    release() {
      if (released) return;
      released = true;
      if (--e.users === 0) {
        ctx.arena.release(e.ptr);
        table.delete(param);
      }
    },
  };
}
