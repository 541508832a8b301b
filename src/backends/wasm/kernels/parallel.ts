import type { WasmContext } from '../context.js';

/** One kernel call: an export of the module by name, on numeric arguments (byte offsets, sizes). */
export type Invoke = (name: string, ...args: number[]) => void;

/** Threads the backend runs a step on (1 without a pool). */
export function threadCount(ctx: WasmContext): number {
  return ctx.pool?.threads ?? 1;
}

/**
 * Runs `body(t, call)` for t = 0 … parts − 1, each part's calls on its own thread (part 0 on the caller),
 * and returns when every part is done. Without a pool (or one part) the calls run here, in order. Parts
 * must write disjoint memory: that is what keeps results independent of the thread count.
 */
export function runParts(ctx: WasmContext, parts: number, body: (t: number, call: Invoke) => void): void {
  const pool = ctx.pool;
  if (!pool || parts <= 1) {
    const ex = ctx.exports;
    const call: Invoke = (name, ...args) => void ex[name](...args);
    for (let t = 0; t < parts; t++) body(t, call);
    return;
  }
  const job = pool.job();
  for (let t = 0; t < parts; t++) body(t, (name, ...args) => job.call(t, name, ...args));
  pool.run(job);
}

/**
 * [0, n) cut into at most `parts` contiguous ranges of near-equal size, each boundary a multiple of
 * `align` (the last range ends at n); empty ranges are left out.
 */
export function splitRange(n: number, parts: number, align = 1): [number, number][] {
  const units = Math.ceil(n / align);
  const k = Math.max(1, Math.min(parts, units));
  const out: [number, number][] = [];
  for (let t = 0; t < k; t++) {
    const a = Math.floor((units * t) / k) * align;
    const b = Math.min(n, Math.floor((units * (t + 1)) / k) * align);
    if (b > a) out.push([a, b]);
  }
  return out;
}

/** Byte size rounded up to a cache line: per-thread scratch slices never share one. */
export const perThread = (bytes: number): number => Math.ceil(bytes / 64) * 64;
