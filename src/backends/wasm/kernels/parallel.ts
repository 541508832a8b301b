import { flags } from '../../../core/flags.js';
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
  if (ranges.length === 1) {
    const ex = ctx.exports;
    body((name, ...args) => void ex[name](...args), ranges[0][0], ranges[0][1]);
    return;
  }
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
