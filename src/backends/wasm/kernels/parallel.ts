import { flags } from '../../../core/flags.js';
import type { WasmContext } from '../context.js';
import { type CallArg, PARTS_PER_THREAD, ThreadLocal } from '../threads.js';

/**
 * One kernel call: an export of the module by name, on numeric arguments (byte offsets, sizes), or on
 * places in the running thread's scratch slice (`local`).
 */
export type Invoke = (name: string, ...args: CallArg[]) => void;

/** Byte `offset` in the scratch slice of whichever thread runs the call (runParts' `scratch`). */
export const local = (offset: number): ThreadLocal => new ThreadLocal(offset);

/** Per-thread scratch: thread t's slice starts at base + t · slice. */
export interface ThreadScratch {
  base: number;
  slice: number;
}

/** Threads the backend runs a step on (1 without a pool). */
export function threadCount(ctx: WasmContext): number {
  return ctx.pool?.threads ?? 1;
}

/**
 * Runs `body(p, call)` for p = 0 … parts − 1, each part's calls on the thread that claims it (its owner
 * first: part p is thread p's, or with more parts than threads thread t owns a contiguous block), and
 * returns when every part is done. Without a pool (or one part) the calls run here, in order, as thread 0.
 * Parts must write disjoint memory: that is what keeps results independent of the thread count. A call's
 * `local(offset)` arguments address the running thread's slice of `scratch`.
 */
export function runParts(
  ctx: WasmContext,
  parts: number,
  body: (p: number, call: Invoke) => void,
  scratch: ThreadScratch = { base: 0, slice: 0 },
): void {
  const pool = ctx.pool;
  if (!pool || parts <= 1) {
    const call = directCall(ctx, scratch.base);
    for (let p = 0; p < parts; p++) body(p, call);
    return;
  }
  const job = pool.job(parts);
  job.scratch.base = scratch.base;
  job.scratch.slice = scratch.slice;
  for (let p = 0; p < parts; p++) body(p, (name, ...args) => job.call(p, name, ...args));
  pool.run(job);
}

/** Calls on this thread, now, as thread 0 (its scratch slice starting at `localBase`). */
function directCall(ctx: WasmContext, localBase = 0): Invoke {
  const ex = ctx.exports;
  return (name, ...args) => {
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (typeof a !== 'number') args[i] = localBase + a.offset;
    }
    ex[name](...(args as number[]));
  };
}

/**
 * Multiply-adds a part of a GEMM-like step (whole images, output panels) must hold at least: one
 * multiply-add of a packed GEMM costs about an eighth of streaming one float, so 8 × flags.threadSplitMinFloats.
 */
function partMulAdds(): number {
  return 8 * Math.max(1, flags.threadSplitMinFloats);
}

/**
 * How many parts to cut a step of `units` (images, panels) into for stealing: up to PARTS_PER_THREAD per
 * thread, so a thread the OS slows or starts late holds back only its unstarted parts, but never parts of
 * under `minUnits` units each (each part re-reads shared operands such as packed weights).
 */
function stealingParts(ctx: WasmContext, units: number, minUnits = 1): number {
  const threads = threadCount(ctx);
  if (threads <= 1) return 1;
  const perThread = Math.max(1, Math.min(PARTS_PER_THREAD, Math.floor(flags.threadPartsPerThread)));
  return Math.max(1, Math.min(threads * perThread, Math.floor(units / Math.max(1, minUnits))));
}

/**
 * [0, n) images cut for stealing (stealingParts), each part holding whole images worth at least
 * partMulAdds() multiply-adds at `mulAddsPerImage` each.
 */
export function imageRanges(ctx: WasmContext, n: number, mulAddsPerImage: number): [number, number][] {
  return splitRange(n, stealingParts(ctx, n, Math.ceil(partMulAdds() / Math.max(1, mulAddsPerImage))));
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

/** Element ranges start at multiples of this: each element takes the SIMD lane or scalar tail it takes in one call. */
const ELEMENT_ALIGN = 64;

/**
 * How many threads `work` floats of streaming work are worth: each must get flags.threadSplitMinFloats
 * (default 32K floats: handing a step to a worker and waiting for it costs a few microseconds, which
 * copying or updating 32K floats, ~10–30 µs, clearly outweighs).
 */
export function partsFor(ctx: WasmContext, work: number): number {
  const min = Math.max(1, flags.threadSplitMinFloats);
  return Math.max(1, Math.min(threadCount(ctx), Math.floor(work / min)));
}

/**
 * [0, n) element ranges for an element-wise kernel: one range when the split does not pay, otherwise
 * contiguous ranges whose starts are multiples of 64 elements, so every element goes through the same
 * SIMD step or scalar tail as in one call over [0, n) (results do not depend on the thread count).
 */
export function elementRanges(ctx: WasmContext, n: number, floatsPerElement = 1): [number, number][] {
  return n <= 0 ? [[0, n]] : splitRange(n, partsFor(ctx, n * floatsPerElement), ELEMENT_ALIGN);
}

/**
 * Runs `body(call, a, b)` for each range, each on its own thread (or the ranges in order on the caller
 * when there is one). The ranges must address disjoint outputs.
 */
export function runRanges(
  ctx: WasmContext,
  ranges: readonly [number, number][],
  body: (call: Invoke, a: number, b: number) => void,
): void {
  runParts(ctx, ranges.length, (t, call) => body(call, ranges[t][0], ranges[t][1]));
}

/**
 * [0, planes) split by whole planes (pooling, per-channel work): every plane is computed by one call,
 * as in one call over all of them; one range when `planes · floatsPerPlane` does not pay a split.
 */
export function planeRanges(ctx: WasmContext, planes: number, floatsPerPlane: number): [number, number][] {
  return planes <= 0 ? [[0, planes]] : splitRange(planes, partsFor(ctx, planes * floatsPerPlane));
}

/**
 * Ranges of `count` rows (or columns) in whole GEMM panels of `unit` (mr rows of A, nr columns of B),
 * for packing a matrix on several threads: a packed panel is a copy, the same whichever thread writes it.
 * One range when `work` floats do not pay a split.
 */
export function panelRanges(ctx: WasmContext, count: number, unit: number, work: number): [number, number][] {
  if (count <= 0) return [[0, count]];
  return splitRange(Math.ceil(count / unit), partsFor(ctx, work)).map(([a, b]) => [a * unit, Math.min(count, b * unit)]);
}

/**
 * Threads a GEMM of `mulAdds` multiply-adds is worth: one multiply-add of a packed GEMM costs about an
 * eighth of streaming one float, so a thread must get 8 × flags.threadSplitMinFloats of them (a 10-class
 * classifier layer at batch 32 runs in one call: splitting it cost more than it saved).
 */
export function gemmParts(ctx: WasmContext, mulAdds: number): number {
  return partsFor(ctx, mulAdds / 8);
}

/**
 * [0, units) output panels of a GEMM of `mulAdds` multiply-adds, cut for the threads: one range when the
 * split does not pay (gemmParts), otherwise up to PARTS_PER_THREAD ranges per thread (stealingParts),
 * each worth a thread's share and each boundary a multiple of `align` panels.
 */
export function gemmPanelRanges(ctx: WasmContext, units: number, mulAdds: number, align = 1): [number, number][] {
  if (gemmParts(ctx, mulAdds) <= 1) return [[0, units]];
  const perUnit = mulAdds / Math.max(1, units);
  const minUnits = Math.ceil(partMulAdds() / Math.max(1, perUnit) / align) * align;
  return splitRange(units, stealingParts(ctx, Math.ceil(units / align), minUnits / align), align);
}
